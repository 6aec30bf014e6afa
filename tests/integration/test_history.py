"""Call history on the real stack: a finished SIPp call is archived to SQLite with its
outcome, verdict and recording, a later disposition reaches the archive, the day's key
figures and the Prometheus metrics count it, and bad parameters get clear errors."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.stack import Process, Stack, place_call, wait_for

pytestmark = pytest.mark.integration


def test_a_finished_call_is_in_the_history_the_figures_and_the_metrics(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    control_plane(["taker07"])
    phones("taker07", "phone_answers.xml")
    before = stack.call_ids()
    call = place_call(media, "112", hold_ms=11000, caller="081299900001", wait=False)
    call_id = stack.new_call_id(before)
    assert call.popen.wait(timeout=60) == 0, call.output()
    stack.wait_ended(call_id)

    def archived() -> dict | None:
        calls = stack.api("GET", "/api/history?caller=081299900001")[1]["calls"]
        return next((c for c in calls if c["call_id"] == call_id), None)

    row = wait_for(archived, 10, "the call in the archive")
    assert row["outcome"] == "answered" and row["taker"] == "taker07" and row["recording"] == call_id
    assert row["verdict"] == "normal" and row["answered_at"] > row["arrived_at"]
    assert [e["entry"] for e in row["record"]["timeline"]][-1] == "ended"

    assert stack.api("POST", f"/api/calls/{call_id}/disposition", {"disposition": "prank"})[0] == 200
    wait_for(lambda: (r := archived()) and r["disposition"] == "prank", 10, "the disposition in the archive")
    database = sqlite3.connect(stack.workdir / "calls.sqlite3")  # durable: the file itself holds it
    assert database.execute("SELECT outcome FROM calls WHERE call_id = ?", (call_id,)).fetchone() == (
        "answered",
    )

    figures = stack.api("GET", "/api/kpis")[1]
    assert figures["answered"] >= 1 and figures["prank_share"] > 0 and figures["timezone"] == "Asia/Makassar"
    status, text = stack.api_text("/metrics")
    assert status == 200 and 'ivr112_calls_total{outcome="answered"} 1' in text
    assert "ivr112_ari_connected 1" in text and "ivr112_answer_seconds_count 1" in text

    assert stack.api("GET", "/api/history?day=28-11-2026")[0] == 400
    assert stack.api("GET", "/api/history?limit=0")[0] == 400
    assert stack.api("GET", "/api/kpis", token="wrong-token-wrong-token")[0] == 401
