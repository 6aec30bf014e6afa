"""A call's incident record: what the call was about, where, and which agencies went (pure).

Rules:
- People write the incident (the call taker who handled the call, or a supervisor), during
  the call or after it; which agencies joined the call, and when, comes from the call's own
  timeline ("agency-joined"), never from what someone typed: view() shows both together.
- The type is one of a closed list (IncidentType); texts are bounded (ADDRESS_MAX,
  KELURAHAN_MAX, NOTES_MAX) and hold no control characters (notes may hold line breaks);
  agencies are the centre's (whoever calls this checks names against the configuration).
- An edit replaces type, address, kelurahan and notes; given a list of agencies it
  replaces the agencies dispatched without joining (sent by radio, say): agencies that
  joined stay, and an arrival stays with any agency still listed or joined.
- An agency's arrival on scene is entered later, and needs the incident first (its type);
  it is never before the call arrived nor in the future (FUTURE_SLACK for clocks apart);
  entered again it corrects the time; an agency not listed yet is added (it went).
- Every change returns the timeline entry that says so ("incident", "agency-arrived"),
  with who made it; notes stay out of the entry (they may name people), the incident
  keeps them with who changed it last and when.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any


class IncidentType(StrEnum):
    FIRE = "fire"
    TRAFFIC = "traffic"  # a traffic accident
    MEDICAL = "medical"
    DISASTER = "disaster"  # flood, landslide, earthquake
    CRIME = "crime"  # crime and security
    OTHER = "other"


TYPES: tuple[str, ...] = tuple(t.value for t in IncidentType)
ADDRESS_MAX = 200
KELURAHAN_MAX = 60
NOTES_MAX = 2000
AGENCIES_MAX = 10
FUTURE_SLACK = 60.0  # seconds an arrival may lie ahead of this clock (another device's clock)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # control characters but tab and line feed
ONE_LINE = re.compile(r"[\x00-\x1f\x7f]")
ENTRY, ARRIVAL_ENTRY = "incident", "agency-arrived"


class IncidentRefused(Exception):
    """A change that cannot be made now (not a bad input: the state of the record)."""


def text_problem(value: str, limit: int, lines: bool = False) -> str | None:
    """Why a text is refused (None: it is fine)."""
    if len(value) > limit:
        return f"at most {limit} characters ({len(value)} given)"
    if (CONTROL if lines else ONE_LINE).search(value):
        return "control characters are not allowed" + ("" if lines else " (one line)")
    return None


def unknown_agencies(names: Iterable[str], known: Iterable[str]) -> list[str]:
    """The names that are no agency of the centre, in the order given."""
    centre = set(known)
    return [name for name in dict.fromkeys(names) if name not in centre]


def arrival_refusal(at: float, call_arrived_at: float, now: float) -> str | None:
    """Why an arrival time is refused (None: it is possible)."""
    if at < call_arrived_at:
        return f"{at:.0f} is before the call arrived ({call_arrived_at:.0f})"
    if at > now + FUTURE_SLACK:
        return f"{at:.0f} is in the future (now {now:.0f})"
    return None


def edited(
    stored: Mapping[str, Any] | None,
    *,
    kind: IncidentType,
    address: str,
    kelurahan: str,
    notes: str,
    agencies: Sequence[str] | None,
    timeline: Sequence[Mapping[str, Any]],
    by: str,
    now: float,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The stored incident after an edit, and the detail of its timeline entry."""
    before = {a["agency"]: a.get("arrived_at") for a in (stored or {}).get("agencies", [])}
    listed = list(dict.fromkeys(agencies)) if agencies is not None else list(before)
    joined = set(_joins(timeline))
    kept = [{"agency": name, "arrived_at": before.get(name)} for name in listed]
    kept += [
        {"agency": name, "arrived_at": at}
        for name, at in before.items()
        if name in joined and name not in listed and at is not None  # an arrival of a joined agency stays
    ]
    incident = {
        "type": kind.value,
        "address": address,
        "kelurahan": kelurahan,
        "notes": notes,
        "agencies": kept,
        "updated_at": now,
        "updated_by": by,
    }
    detail = {
        "type": kind.value,
        "address": address,
        "kelurahan": kelurahan,
        "agencies": " ".join(a["agency"] for a in view(incident, timeline)["agencies"]),
        "incident_by": by,
    }
    return incident, detail


def arrived(
    stored: Mapping[str, Any] | None, agency: str, at: float, by: str, now: float
) -> tuple[dict[str, Any], dict[str, str]]:
    """The stored incident with `agency` on scene at `at`, and the detail of its timeline entry."""
    if stored is None:
        raise IncidentRefused("the call has no incident record yet: save its type first")
    agencies = [dict(a) for a in stored.get("agencies", [])]
    entry = next((a for a in agencies if a["agency"] == agency), None)
    if entry is None:
        agencies.append({"agency": agency, "arrived_at": at})
    else:
        entry["arrived_at"] = at
    incident = {**stored, "agencies": agencies, "updated_at": now, "updated_by": by}
    return incident, {"agency": agency, "arrived_at": repr(at), "arrival_by": by}


def _joins(timeline: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Each agency that joined the call -> when it first joined, in joining order."""
    joins: dict[str, float] = {}
    for entry in timeline:
        if entry.get("entry") == "agency-joined" and entry.get("agency"):
            joins.setdefault(str(entry["agency"]), float(entry["at"]))
    return joins


def agency_times(
    stored: Mapping[str, Any] | None, timeline: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Every agency that joined or was dispatched: {agency, joined_at, arrived_at}, the joined
    first (in joining order), then the others as listed. `stored` may be a view already."""
    joins = _joins(timeline)
    arrivals = {a["agency"]: a.get("arrived_at") for a in (stored or {}).get("agencies", [])}
    names = list(dict.fromkeys([*joins, *arrivals]))
    return [{"agency": n, "joined_at": joins.get(n), "arrived_at": arrivals.get(n)} for n in names]


def view(stored: Mapping[str, Any], timeline: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The incident as the record shows it: its agencies with when each joined and arrived."""
    return {**stored, "agencies": agency_times(stored, timeline)}


def row_fields(incident: Mapping[str, Any] | None, timeline: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The archive's incident columns of a call: its type and kelurahan ('' without an
    incident), the first arrival on scene, every agency's times (JSON, for the key figures)."""
    times = agency_times(incident, timeline)
    arrivals = [float(a["arrived_at"]) for a in times if a["arrived_at"] is not None]
    return {
        "incident_type": str((incident or {}).get("type", "")),
        "kelurahan": str((incident or {}).get("kelurahan", "")),
        "agency_arrived_at": min(arrivals) if arrivals else None,
        "agency_times": json.dumps(times, sort_keys=True) if times else "",
    }
