# Who is on the callback list (ivr.core.callback_list): abandoned callers with a number,
# once per number, gone once they got through, with the status of the attempts, in the
# order a call taker should work through them.
from __future__ import annotations

from typing import Any

from ivr.core.callback_list import callback_list


def row(call_id: str, caller: str, at: float, outcome: str, **more: Any) -> dict[str, Any]:
    return {"call_id": call_id, "caller": caller, "arrived_at": at, "ended_at": at + 20, "outcome": outcome,
            "verdict": more.pop("verdict", "normal"), "taker": more.pop("taker", ""),
            "callback_of": more.pop("callback_of", "")}  # fmt: skip


def test_abandoned_callers_with_a_number_are_listed_once_per_number() -> None:
    rows = [
        row("a", "0811", 100, "abandoned-in-queue"),
        row("b", "0811", 200, "abandoned-in-greeting"),
        row("c", "", 150, "abandoned-in-queue"),  # no number
        row("d", "anonymous", 160, "abandoned-in-queue"),
        row("e", "0822", 170, "answered"),
        row("f", "0833", 180, "handed-to-fallback"),
    ]
    [entry] = callback_list(rows, {}, {"0811": 2})
    assert entry["call_id"] == "b" and entry["abandoned_calls"] == 2 and entry["prank_reports"] == 2
    assert entry["status"] == "pending" and entry["waited_seconds"] == 20


def test_a_caller_who_got_through_later_leaves_the_list() -> None:
    rows = [row("a", "0811", 100, "abandoned-in-queue"), row("b", "0811", 300, "answered")]
    assert callback_list(rows, {}, {}) == []
    rows = [row("a", "0811", 300, "abandoned-in-queue"), row("b", "0811", 100, "answered")]
    assert [e["call_id"] for e in callback_list(rows, {}, {})] == ["a"]


def test_attempts_and_their_results_set_the_status() -> None:
    abandoned = row("a", "0811", 100, "abandoned-in-queue")
    busy = row("a-cb1", "0811", 200, "callback-unreached", callback_of="a", taker="taker03")
    [entry] = callback_list([abandoned, busy], {}, {})
    assert entry["status"] == "unreached"
    assert entry["attempts"] == [
        {"at": 200.0, "callback": "a-cb1", "taker": "taker03", "result": "unreached"}
    ]
    [entry] = callback_list([abandoned, busy], {"a": "a-cb2"}, {})
    assert entry["status"] == "calling" and entry["callback"] == "a-cb2"
    reached = row("a-cb2", "0811", 300, "callback-reached", callback_of="a", taker="taker03")
    [entry] = callback_list([abandoned, busy, reached], {}, {})
    assert entry["status"] == "reached"


def test_open_entries_come_first_emergencies_first_then_the_oldest() -> None:
    rows = [
        row("old", "0801", 100, "abandoned-in-queue"),
        row("new-emergency", "0802", 300, "abandoned-in-queue", verdict="emergency"),
        row("done", "0803", 50, "abandoned-in-queue"),
        row("done-cb1", "0803", 60, "callback-reached", callback_of="done"),
        row("newer", "0804", 400, "abandoned-in-greeting"),
    ]
    assert [e["call_id"] for e in callback_list(rows, {}, {})] == ["new-emergency", "old", "newer", "done"]


def test_a_private_number_is_listed_as_anonymous_but_kept_for_the_callback() -> None:
    [entry] = callback_list([{**row("p", "0855", 100, "abandoned-in-queue"), "withheld": "yes"}], {}, {})
    assert entry["caller"] == "anonymous" and entry["call_id"] == "p"  # the callback dials p's record


def test_call_takers_see_no_private_number_in_a_record() -> None:
    from ivr.adapters.http.replies import as_call_takers_see

    record = {"caller": "0855", "withheld": "yes", "timeline": [{"entry": "arrived", "caller": "0855"},
                                                               {"entry": "ended"}]}  # fmt: skip
    shown = as_call_takers_see(record)
    assert "0855" not in str(shown) and shown["timeline"][1] == {"entry": "ended"}
    assert as_call_takers_see({"caller": "0811", "timeline": []})["caller"] == "0811"
