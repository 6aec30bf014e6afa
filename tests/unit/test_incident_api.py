# The incident record through the app's routes: bad input refused with a 400 naming the
# field and its code (an unknown type or agency, an arrival before the call or in the
# future, notes too long, a control character, a field the record does not have), and
# only the call taker of the call or a supervisor let in; the archive keeps the
# incident's columns and the history, its CSV file and the key figures show them; the
# calls' event stream says what changed, never the notes.
from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ivr.adapters.event_feed import EventFeed
from ivr.core import incident
from ivr.core.commands import RecordTimeline
from tests.unit.http_app import CALL_OTHER, CALL_OWN, Api, api

INCIDENT = f"/api/v1/calls/{CALL_OWN}/incident"
ARRIVALS = f"{INCIDENT}/arrivals"
GOOD = {"type": "fire", "address": "Jl. Saranani 12", "kelurahan": "Mandonga", "notes": "gudang terbakar"}


async def refused(app: Api, method: str, path: str, body: Any, role: str = "call-taker") -> dict[str, Any]:
    response = await app.client.request(method, path, json=body, headers=app.auth(role))
    assert response.status == 400, await response.text()
    reply = dict(await response.json())
    assert reply["code"] == "invalid_body"
    return reply


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (GOOD | {"type": "kebakaran"}, "type"),
        ({k: v for k, v in GOOD.items() if k != "type"}, "type"),
        (GOOD | {"notes": "x" * (incident.NOTES_MAX + 1)}, "notes"),
        (GOOD | {"address": "a" * (incident.ADDRESS_MAX + 1)}, "address"),
        (GOOD | {"kelurahan": "Kambu\r\nX-Injected: 1"}, "kelurahan"),
        (GOOD | {"notes": "bel\x07"}, "notes"),
        (GOOD | {"agencies": ["damkar"] * (incident.AGENCIES_MAX + 1)}, "agencies"),
        (GOOD | {"kategori": "api"}, "kategori"),  # no such field: a typo is not dropped silently
    ],
)
async def test_a_bad_incident_is_refused_naming_the_field(body: dict[str, Any], field: str) -> None:
    async with api() as app:
        reply = await refused(app, "PUT", INCIDENT, body)
        assert any(p.startswith(f"{field}") for p in reply["problems"]), reply


async def test_an_unknown_agency_is_refused_by_name_with_the_known_ones() -> None:
    async with api() as app:
        reply = await refused(app, "PUT", INCIDENT, GOOD | {"agencies": ["polisi", "pmi"]})
        assert reply["problems"] == ["agencies: unknown agency 'pmi' (known: damkar, ambulans, bpbd, polisi)"]
        reply = await refused(app, "POST", ARRIVALS, {"agency": "sar"})
        assert reply["problems"][0].startswith("agency: unknown agency 'sar'")


async def test_an_arrival_before_the_call_or_in_the_future_is_refused() -> None:
    async with api() as app:
        arrived = app.engine.centre.calls[CALL_OWN].arrived_at
        reply = await refused(app, "POST", ARRIVALS, {"agency": "damkar", "arrived_at": arrived - 0.5})
        assert reply["problems"] == [
            f"arrived_at: {arrived - 0.5:.0f} is before the call arrived ({arrived:.0f})"
        ]
        later = datetime.now().timestamp() + 3600
        reply = await refused(app, "POST", ARRIVALS, {"agency": "damkar", "arrived_at": later})
        assert "in the future" in reply["problems"][0]
        for bad in (-5, "soon", None):
            body = {"agency": "damkar", "arrived_at": bad} if bad is not None else {"arrived_at": 10}
            reply = await refused(app, "POST", ARRIVALS, body)
            assert reply["problems"][0].startswith("arrived_at" if bad is not None else "agency")


@pytest.mark.parametrize(
    ("role", "call", "status"),
    [
        ("engineer", CALL_OWN, 403),  # no call is an engineer's
        ("call-taker", CALL_OTHER, 403),  # another call taker's call
        ("call-taker", CALL_OWN, 503),  # let in (then Redis is away here)
        ("supervisor", CALL_OTHER, 503),
        ("operator", CALL_OTHER, 503),
    ],
)
async def test_only_the_call_taker_of_the_call_or_a_supervisor_writes(
    role: str, call: str, status: int
) -> None:
    async with api() as app:
        path = f"/api/v1/calls/{call}/incident"
        for method, where, body in (("PUT", path, GOOD), ("POST", f"{path}/arrivals", {"agency": "damkar"})):
            response = await app.client.request(method, where, json=body, headers=app.auth(role))
            assert response.status == status, (method, role, await response.text())
            if status == 403:
                assert (await response.json())["code"] == "forbidden"


ZONE = ZoneInfo("Asia/Makassar")
T0 = datetime(2026, 11, 29, 9, 0, tzinfo=ZONE).timestamp()


def ended_call(
    call_id: str, kind: str | None, agency: str, joined: float, arrived: float | None
) -> dict[str, Any]:
    """A call's record as the store gives it: answered 10 s after arriving, `agency` joining
    `joined` s after the call, its incident (if any) with the arrival."""
    timeline = [
        {"at": T0, "entry": "arrived", "caller": "081234567890"},
        {"at": T0 + 10, "entry": "taker-answered", "taker": "taker01"},
        {"at": T0 + joined, "entry": "agency-joined", "agency": agency, "channel": f"{call_id}-ag1-{agency}"},
        {"at": T0 + 900, "entry": "ended", "outcome": "answered"},
    ]
    record: dict[str, Any] = {
        "call_id": call_id,
        "caller": "081234567890",
        "dialled": "112",
        "outcome": "answered",
        "taker": "taker01",
        "level": "emergency",
        "timeline": timeline,
    }
    if kind is not None:
        stored, _ = incident.edited(None, kind=incident.IncidentType(kind), address="Jl. Bunga, No. 3",
                                    kelurahan="Kambu", notes='=HYPERLINK("x")', agencies=None,
                                    timeline=timeline, by="taker01", now=T0 + 60)  # fmt: skip
        if arrived is not None:
            stored, _ = incident.arrived(stored, agency, T0 + arrived, "taker01", T0 + 1000)
        record["incident"] = incident.view(stored, timeline)
    return record


async def test_the_archive_history_csv_and_key_figures_carry_the_incident(tmp_path: Path) -> None:
    async with api(archive=tmp_path / "calls.sqlite3") as app:
        assert app.engine.archive is not None
        for one in (ended_call("a", "fire", "damkar", 40, 400), ended_call("b", "fire", "damkar", 70, 500),
                    ended_call("c", None, "polisi", 100, None)):  # fmt: skip
            await app.engine.archive.put(one)
        auth = app.auth("supervisor")
        history = await (
            await app.client.get("/api/v1/history", params={"day": "2026-11-29"}, headers=auth)
        ).json()
        rows = {r["call_id"]: r for r in history["calls"]}
        assert (rows["a"]["incident_type"], rows["a"]["kelurahan"], rows["a"]["agency_arrived_at"]) == (
            "fire", "Kambu", T0 + 400,
        )  # fmt: skip
        assert rows["a"]["record"]["incident"]["agencies"] == [
            {"agency": "damkar", "joined_at": T0 + 40, "arrived_at": T0 + 400}
        ]
        assert (rows["c"]["incident_type"], rows["c"]["agency_arrived_at"]) == ("", None)

        response = await app.client.get("/api/v1/history.csv", params={"day": "2026-11-29"}, headers=auth)
        table = {r["call_id"]: r for r in csv.DictReader(io.StringIO((await response.read()).decode()))}
        assert table["a"]["incident_type"] == "fire" and table["a"]["address"] == "Jl. Bunga, No. 3"
        assert table["a"]["incident_notes"] == '\'=HYPERLINK("x")'  # never a formula
        assert table["a"]["agency_arrived_at"] == "2026-11-29T09:06:40.000+08:00"
        assert table["a"]["agency_arrivals"] == "damkar 2026-11-29T09:06:40.000+08:00"
        assert table["c"]["incident_type"] == table["c"]["agency_arrivals"] == ""

        figures = await (
            await app.client.get("/api/v1/kpis", params={"day": "2026-11-29"}, headers=auth)
        ).json()
        on_scene = figures["call_to_agency_arrived_seconds"]
        assert on_scene["by_type"]["fire"] == {"count": 2, "p50": 400.0, "p90": 500.0}
        assert on_scene["by_agency"] == {"damkar": {"count": 2, "p50": 400.0, "p90": 500.0}}
        connected = figures["answer_to_agency_seconds"]
        assert connected["by_agency"]["polisi"] == {"count": 1, "p50": 90.0, "p90": 90.0}
        assert figures["on_scene_within_7_min"] == 0.5 and figures["priority_help_within_3_min"] == 1.0
        assert figures["located_share"] == 0.0 and figures["calls"] == 3  # the earlier figures stay


def test_the_event_stream_says_what_changed_but_never_the_notes() -> None:
    feed = EventFeed(epoch="e")
    feed.note(
        RecordTimeline("c1", "arrived", T0, {"caller": "081234567890", "dialled": "112", "level": "normal"})
    )
    flood = {"address": "Jl. A", "kelurahan": "Lepo-Lepo", "notes": "banjir setinggi pinggang"}
    _, detail = incident.edited(
        None,
        kind=incident.IncidentType.DISASTER,
        agencies=["bpbd"],
        timeline=[],
        by="taker01",
        now=T0 + 30,
        **flood,
    )
    feed.note(RecordTimeline("c1", incident.ENTRY, T0 + 30, detail))
    _, arrival = incident.arrived({"agencies": []}, "bpbd", T0 + 600, "taker01", T0 + 700)
    feed.note(RecordTimeline("c1", incident.ARRIVAL_ENTRY, T0 + 700, arrival))
    _, replay = feed.subscribe("e-1")
    caller = {"caller": "081234567890", "withheld": False}
    assert [(e.name, e.data) for e in replay.events] == [
        ("incident", {"call": "c1", "at": T0 + 30, "type": "disaster", "address": "Jl. A",
                      "kelurahan": "Lepo-Lepo", "agencies": "bpbd", "incident_by": "taker01", **caller}),
        ("agency-arrived", {"call": "c1", "at": T0 + 700, "agency": "bpbd", "arrived_at": repr(T0 + 600),
                            "arrival_by": "taker01", **caller}),
    ]  # fmt: skip
