# The incident record of a call (ivr.core.incident, pure): what a call taker writes and
# what the record then shows: the agencies that joined the call (from its timeline) beside
# those sent otherwise, arrivals on scene kept across edits and corrected when entered
# again, an arrival refused before the call or in the future, texts bounded, and the
# archive's columns that the city's figures read.
from __future__ import annotations

import json
from typing import Any

import pytest

from ivr.core import incident
from ivr.core.incident import IncidentRefused, IncidentType

CALL = 1_000.0
TIMELINE = [
    {"at": CALL, "entry": "arrived"},
    {"at": CALL + 8, "entry": "taker-answered", "taker": "taker01"},
    {"at": CALL + 40, "entry": "agency-joined", "agency": "damkar", "channel": "x-ag1-damkar"},
    {"at": CALL + 95, "entry": "agency-joined", "agency": "ambulans", "channel": "x-ag2-ambulans"},
    {"at": CALL + 300, "entry": "agency-joined", "agency": "damkar", "channel": "x-ag3-damkar"},
]


def write(
    stored: dict[str, Any] | None = None, agencies: list[str] | None = None, **fields: Any
) -> dict[str, Any]:
    given = {"kind": IncidentType.FIRE, "address": "Jl. Saranani 12", "kelurahan": "Mandonga", "notes": ""}
    new, _ = incident.edited(
        stored, agencies=agencies, timeline=TIMELINE, by="taker01", now=CALL + 50, **(given | fields)
    )
    return new


def test_the_record_lists_the_agencies_that_joined_first_then_those_sent_otherwise() -> None:
    stored = write(agencies=["polisi"])
    shown = incident.view(stored, TIMELINE)
    assert shown["agencies"] == [
        {"agency": "damkar", "joined_at": CALL + 40, "arrived_at": None},  # its first joining
        {"agency": "ambulans", "joined_at": CALL + 95, "arrived_at": None},
        {"agency": "polisi", "joined_at": None, "arrived_at": None},  # sent by radio: never joined
    ]
    assert (shown["type"], shown["kelurahan"], shown["updated_by"]) == ("fire", "Mandonga", "taker01")


def test_the_timeline_entry_of_an_edit_names_every_agency_and_who_but_not_the_notes() -> None:
    _, detail = incident.edited(None, kind=IncidentType.MEDICAL, address="Jl. A", kelurahan="Kambu",
                                notes="korban pingsan, nomor 0812...", agencies=["polisi"], timeline=TIMELINE,
                                by="taker01", now=CALL + 60)  # fmt: skip
    assert detail == {"type": "medical", "address": "Jl. A", "kelurahan": "Kambu",
                      "agencies": "damkar ambulans polisi", "incident_by": "taker01"}  # fmt: skip


def test_an_arrival_is_kept_across_edits_and_corrected_when_entered_again() -> None:
    stored = write(agencies=["polisi"])
    stored, detail = incident.arrived(stored, "damkar", CALL + 400, "taker01", CALL + 401)
    assert detail == {"agency": "damkar", "arrived_at": repr(CALL + 400), "arrival_by": "taker01"}
    stored, _ = incident.arrived(stored, "polisi", CALL + 500, "supervisor", CALL + 501)
    stored = write(stored, notes="api padam")  # an edit without agencies changes none of them
    stored, _ = incident.arrived(stored, "damkar", CALL + 380, "supervisor", CALL + 600)  # corrected
    arrivals = {a["agency"]: a["arrived_at"] for a in incident.view(stored, TIMELINE)["agencies"]}
    assert arrivals == {"damkar": CALL + 380, "ambulans": None, "polisi": CALL + 500}
    assert (stored["notes"], stored["updated_by"]) == ("api padam", "supervisor")  # the last change's


def test_a_new_list_of_agencies_drops_those_sent_by_mistake_but_never_one_that_joined() -> None:
    stored = write(agencies=["polisi", "bpbd"])
    stored, _ = incident.arrived(stored, "damkar", CALL + 400, "taker01", CALL + 401)
    stored, _ = incident.arrived(stored, "bpbd", CALL + 420, "taker01", CALL + 421)
    stored = write(stored, agencies=["polisi"])
    shown = {a["agency"]: a["arrived_at"] for a in incident.view(stored, TIMELINE)["agencies"]}
    assert shown == {"damkar": CALL + 400, "ambulans": None, "polisi": None}


def test_an_arrival_of_an_agency_not_listed_adds_it() -> None:
    stored, _ = incident.arrived(write(), "polisi", CALL + 200, "taker01", CALL + 201)
    assert {"agency": "polisi", "joined_at": None, "arrived_at": CALL + 200} in incident.view(
        stored, TIMELINE
    )["agencies"]


def test_an_arrival_needs_the_incident_first() -> None:
    with pytest.raises(IncidentRefused, match="save its type first"):
        incident.arrived(None, "damkar", CALL + 400, "taker01", CALL + 401)


@pytest.mark.parametrize(
    ("at", "refused"),
    [(CALL - 1, "before the call arrived"), (CALL, None), (CALL + 900, None),
     (CALL + 1000 + incident.FUTURE_SLACK, None), (CALL + 1000 + incident.FUTURE_SLACK + 1, "in the future")],
)  # fmt: skip
def test_an_arrival_lies_between_the_call_and_now(at: float, refused: str | None) -> None:
    problem = incident.arrival_refusal(at, CALL, now=CALL + 1000)
    assert (problem is None) if refused is None else (refused in str(problem))


@pytest.mark.parametrize(
    ("text", "lines", "refused"),
    [("Jl. Bunga Kamboja No. 3, RT 02", False, None), ("a" * 60, False, None),
     ("a" * 61, False, "at most 60"), ("baris satu\nbaris dua", True, None),
     ("baris satu\nbaris dua", False, "control characters"),
     ("bel\x07", True, "control characters"), ("tab\tok", True, None)],
)  # fmt: skip
def test_texts_are_bounded_and_hold_no_control_characters(
    text: str, lines: bool, refused: str | None
) -> None:
    problem = incident.text_problem(text, 60, lines)
    assert (problem is None) if refused is None else (refused in str(problem))


def test_an_unknown_agency_is_named() -> None:
    assert incident.unknown_agencies(["damkar", "pmi", "polisi", "pmi"], ["damkar", "polisi"]) == ["pmi"]


def test_the_archive_columns_hold_the_type_the_first_arrival_and_each_agencys_times() -> None:
    stored, _ = incident.arrived(write(agencies=["polisi"]), "polisi", CALL + 500, "taker01", CALL + 501)
    stored, _ = incident.arrived(stored, "damkar", CALL + 410, "taker01", CALL + 502)
    row = incident.row_fields(incident.view(stored, TIMELINE), TIMELINE)  # a record's view as well
    assert (row["incident_type"], row["kelurahan"], row["agency_arrived_at"]) == (
        "fire",
        "Mandonga",
        CALL + 410,
    )
    assert json.loads(row["agency_times"]) == incident.view(stored, TIMELINE)["agencies"]


def test_a_call_without_an_incident_still_has_its_agencies_joining_in_the_archive() -> None:
    row = incident.row_fields(None, TIMELINE)
    assert (row["incident_type"], row["kelurahan"], row["agency_arrived_at"]) == ("", "", None)
    assert [a["agency"] for a in json.loads(row["agency_times"])] == ["damkar", "ambulans"]
    assert incident.row_fields(None, TIMELINE[:2])["agency_times"] == ""
