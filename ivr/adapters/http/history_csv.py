"""The call history as a CSV file for a day or a range of days: GET /api/v1/history.csv.

Rules:
- The days: `day=YYYY-MM-DD`, or `from=` and `to=` (both included; `to` defaults to
  `from`), none: today; calendar days in the centre's time zone, each as the JSON history
  reads it (history_api.parse_day). A range of more than MAX_DAYS days, one running
  backwards, a bad day, or `day` beside `from`/`to` is a 400 naming the parameter.
  `outcome` and `caller` filter as in the JSON history.
- One row per call, oldest first, under a header row: the archive's columns (COLUMNS;
  the whole record and its timeline stay in the JSON history), `withheld` after the
  caller, the incident record's address, notes and each agency's arrival on scene; times
  in ISO 8601 in the centre's time zone, to the millisecond; RFC 4180
  (CRLF line ends; a field with a comma, a quote or a line break quoted, quotes doubled).
- The caller's number is what the JSON history shows for the same call (both are the
  archive's rows, for the same roles); `withheld` says "yes" when the network marked it
  private, so a system reading the file can keep it from call takers.
- A cell a spreadsheet would take for a formula (starting with = + - @, a tab or a CR)
  gets a leading apostrophe, unless it is a plain number ("+62812...", "-1"), which runs
  nothing and must stay a number.
- Streamed PAGE rows at a time, each page read on the archive's key (the order never
  skips or repeats a call), as an attachment named after its days.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from ivr.adapters.http.centre import Centre
from ivr.adapters.http.history_api import parse_day
from ivr.adapters.http.replies import bad_parameter, error
from ivr.core.privacy import is_withheld

MAX_DAYS = 31
PAGE = 500
COLUMNS = (
    "call_id", "caller", "withheld", "dialled", "arrived_at", "answered_at", "ended_at", "outcome",
    "level", "verdict", "flags", "taker", "disposition", "agencies", "agency_joined_at", "recording",
    "callback_of", "incident_type", "kelurahan", "address", "incident_notes", "agency_arrived_at",
    "agency_arrivals",
)  # fmt: skip
TIMES = frozenset({"arrived_at", "answered_at", "ended_at", "agency_joined_at", "agency_arrived_at"})
FROM_INCIDENT = {"address": "address", "incident_notes": "notes"}  # column -> the record's incident field
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def guarded(cell: str) -> str:
    """The cell as a spreadsheet may open it: never a formula."""
    if cell.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def _time(at: float | None, zone: ZoneInfo) -> str:
    return "" if at is None else datetime.fromtimestamp(at, zone).isoformat(timespec="milliseconds")


def cells(row: dict[str, Any], zone: ZoneInfo) -> list[str]:
    """An archive row (its record parsed, as Archive.history gives it) as CSV cells."""
    out = []
    found = row["record"].get("incident") or {}
    for column in COLUMNS:
        if column == "withheld":
            value = "yes" if is_withheld(row["record"]) else ""
        elif column in TIMES:
            value = _time(row.get(column), zone)
        elif column in FROM_INCIDENT:
            value = str(found.get(FROM_INCIDENT[column], ""))
        elif column == "agency_arrivals":  # "damkar <time>; polisi <time>"
            arrived = [a for a in found.get("agencies", []) if a.get("arrived_at") is not None]
            value = "; ".join(f"{a['agency']} {_time(a['arrived_at'], zone)}" for a in arrived)
        else:
            value = str(row.get(column) or "")
        out.append(guarded(value))
    return out


def _day(query: Mapping[str, str], name: str) -> date:
    try:
        return parse_day(query[name])
    except ValueError as exc:
        raise bad_parameter(name, str(exc)) from None


def days_asked(query: Mapping[str, str], zone: ZoneInfo) -> tuple[date, date]:
    """The first and last day the query asks for, or a 400 naming the parameter."""
    if "day" in query:
        if "from" in query or "to" in query:
            raise bad_parameter("day", "give day, or from and to, not both")
        one = _day(query, "day")
        return one, one
    if "from" not in query:
        if "to" in query:
            raise bad_parameter("from", "needed with to (the first day)")
        today = datetime.now(zone).date()
        return today, today
    first = _day(query, "from")
    last = _day(query, "to") if "to" in query else first
    if last < first:
        raise bad_parameter("to", f"{last} is before from ({first})")
    if (last - first).days >= MAX_DAYS:
        raise bad_parameter("to", f"at most {MAX_DAYS} days from `from` ({first}) on")
    return first, last


def _start_of(day: date, zone: ZoneInfo) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()


def file_name(first: date, last: date) -> str:
    return f"calls-{first}.csv" if first == last else f"calls-{first}-to-{last}.csv"


def add_history_export(app: web.Application, centre: Centre, timezone: str) -> None:
    zone = ZoneInfo(timezone)

    async def export(request: web.Request) -> web.StreamResponse:
        archive = centre.archive
        if archive is None:
            return error(503, "no call archive in this control plane")
        first, last = days_asked(request.query, zone)
        since, until = _start_of(first, zone), _start_of(last + timedelta(days=1), zone)
        outcome, caller = request.query.get("outcome"), request.query.get("caller")
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/csv; charset=utf-8; header=present",
                "Content-Disposition": f'attachment; filename="{file_name(first, last)}"',
            }
        )
        await response.prepare(request)
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        after: tuple[float, str] | None = None
        while True:
            rows = await archive.history(since, until, outcome, caller, PAGE, after, oldest_first=True)
            writer.writerows(cells(row, zone) for row in rows)
            await response.write(text.getvalue().encode())
            text.seek(0)
            text.truncate()
            if len(rows) < PAGE:
                break
            after = (rows[-1]["arrived_at"], rows[-1]["call_id"])
        await response.write_eof()
        return response

    app.router.add_get("/api/v1/history.csv", export)
