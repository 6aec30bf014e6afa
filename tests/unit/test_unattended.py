"""Closing a record left open while no control plane attended: the outcome follows what
the record last showed, a callback is reached or failed, a lost node's call is cut off."""

from __future__ import annotations

from typing import Any

import pytest

from ivr.core import unattended
from ivr.core.callback_list import CALL_BACK
from ivr.core.outcomes import Outcome


def record(*entries: str, **fields: str) -> dict[str, Any]:
    return {**fields, "timeline": [{"at": 100.0 + i, "entry": e} for i, e in enumerate(entries)]}


@pytest.mark.parametrize(
    ("entries", "outcome"),
    [
        (("arrived", "answered", "recording"), Outcome.ABANDONED_IN_GREETING),
        (("arrived", "answered", "screening-started", "screened"), Outcome.ABANDONED_IN_GREETING),
        (("arrived", "answered", "greeting-done"), Outcome.ABANDONED_IN_QUEUE),
        (("arrived", "answered", "greeting-timeout", "adopted"), Outcome.ABANDONED_IN_QUEUE),
        (("arrived", "answered", "greeting-stopped", "offered", "taker-ringing"), Outcome.ABANDONED_IN_QUEUE),
        (("arrived", "greeted-in-dialplan"), Outcome.ABANDONED_IN_QUEUE),
        (("arrived", "answered", "greeting-done", "offered", "taker-answered"), Outcome.ABANDONED_IN_QUEUE),
        (("arrived", "answered", "greeting-done", "offered", "connected"), Outcome.ANSWERED),
        (("arrived", "answered", "greeting-done", "overflowed", "connected"), Outcome.OVERFLOWED),
        (("arrived", "overflowed", "offered", "connected", "agency-joined", "taker-left"), Outcome.ANSWERED),
    ],
)
def test_the_outcome_follows_what_the_record_last_showed(entries: tuple[str, ...], outcome: Outcome) -> None:
    ending = unattended.ending("c1", record(*entries), now=500.0)
    assert ending.outcome is outcome
    assert [(n.call_id, n.entry, n.at) for n in ending.entries] == [
        ("c1", "unattended", 500.0),
        ("c1", "ended", 500.0),
    ]
    assert ending.entries[-1].detail == {"by": unattended.BY, "outcome": outcome.value}
    why = ending.entries[0].detail
    assert why["reason"] == unattended.LEFT and float(why["last_seen_at"]) == 100.0 + len(entries) - 1


def test_a_caller_who_never_reached_a_person_is_to_be_called_back() -> None:
    waiting = unattended.ending("c1", record("arrived", "answered", "greeting-done"), now=1.0)
    spoke = unattended.ending("c2", record("arrived", "greeting-done", "offered", "connected"), now=1.0)
    assert waiting.outcome.value in CALL_BACK and spoke.outcome.value not in CALL_BACK


def test_an_adopted_connected_call_was_answered() -> None:
    rec = record("arrived")
    rec["timeline"].append({"at": 102.0, "entry": "adopted", "answered": "True", "taker": "taker04"})
    assert unattended.ending("c1", rec, now=200.0).outcome is Outcome.ANSWERED


def test_a_lost_nodes_call_is_cut_off_whatever_it_was_doing() -> None:
    for entries in (("arrived",), ("arrived", "greeting-done", "offered", "connected")):
        ending = unattended.ending("a1-1.2", record(*entries), now=9.0, node_lost="a1")
        assert ending.outcome is Outcome.CUT_OFF and ending.outcome.value in CALL_BACK
        assert "(a1)" in ending.entries[0].detail["reason"]


def test_a_callback_that_had_not_connected_failed_and_the_abandoned_call_is_told() -> None:
    rec = record("arrived", "dialling", callback_of="c7")
    ending = unattended.ending("c7-cb1", rec, now=50.0)
    assert ending.outcome is Outcome.FAILED
    told = [n for n in ending.entries if n.call_id == "c7"]
    assert [(n.entry, n.detail["callback"], n.detail["result"]) for n in told] == [
        ("callback-result", "c7-cb1", "failed")
    ]
    assert ending.entries[-1].call_id == "c7-cb1" and ending.entries[-1].detail["result"] == "failed"


def test_a_callback_that_had_connected_was_reached_and_told_already() -> None:
    rec = record("arrived", "taker-answered", "callee-answered", "connected", callback_of="c7")
    ending = unattended.ending("c7-cb1", rec, now=50.0)
    assert ending.outcome is Outcome.CALLBACK_REACHED
    assert {n.call_id for n in ending.entries} == {"c7-cb1"}


def test_a_record_with_no_timeline_still_ends_in_the_greeting() -> None:
    ending = unattended.ending("c1", {"caller": "0812"}, now=3.0)
    assert ending.outcome is Outcome.ABANDONED_IN_GREETING
    assert "last_seen_at" not in ending.entries[0].detail
