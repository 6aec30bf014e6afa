"""The call takers' desk during a load run on the control plane: what a person at the
desk does besides talking, through the same HTTP API the dashboard uses.

Rules: it acts only on calls in conversation (a taker channel, no outcome yet), each
call at most once: a call from the repeat prank number gets the "prank" verdict from
its taker (so the number's reputation builds up as it would in the centre); every
`agency_every`-th other call gets an agency brought in by its taker (fire and
ambulance in turn), answered by the agencies' SIPp phones. It polls Redis in one
pipeline per round and never waits on a call; a refused request is counted, not raised.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from tests.integration.stack import Stack

PRANK_NUMBER = "081299990000"
AGENCIES = ("damkar", "ambulans")


@dataclass
class DeskFigures:
    verdicts: int = 0
    agency_requests: int = 0
    refused: list[str] = field(default_factory=list)
    requested: dict[str, str] = field(default_factory=dict)  # call id -> agency


class Desk:
    def __init__(self, stack: Stack, before: set[str], agency_every: int = 6) -> None:
        self._stack = stack
        self._before = before
        self._every = agency_every
        self._done: set[str] = set()
        self._seen_talking = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="desk", daemon=True)
        self.figures = DeskFigures()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        client = self._stack.redis()
        while not self._stop.wait(0.5):
            ids = [c for c in self._stack.call_ids() if c not in self._before and c not in self._done]
            pipe = client.pipeline(transaction=False)
            for call_id in ids:
                pipe.hmget(f"ivr:call:{call_id}", "caller", "taker", "taker_channel", "outcome")
            for call_id, (caller, taker, channel, outcome) in zip(ids, pipe.execute(), strict=True):
                if outcome:
                    self._done.add(call_id)
                elif channel and taker:
                    self._done.add(call_id)
                    self._at_desk(call_id, caller or "", taker)

    def _at_desk(self, call_id: str, caller: str, taker: str) -> None:
        if caller == PRANK_NUMBER:
            self._ask(call_id, "disposition", {"disposition": "prank"})
            self.figures.verdicts += 1
            return
        self._seen_talking += 1
        if self._seen_talking % self._every == 0:
            agency = AGENCIES[(self._seen_talking // self._every) % len(AGENCIES)]
            self._ask(call_id, "agencies", {"agency": agency})
            self.figures.agency_requests += 1
            self.figures.requested[call_id] = agency

    def _ask(self, call_id: str, what: str, body: dict[str, Any]) -> None:
        try:
            status, answer = self._stack.api("POST", f"/api/calls/{call_id}/{what}", body)
        except OSError as exc:
            status, answer = 0, str(exc)
        if status not in (200, 202):
            self.figures.refused.append(f"{what} {call_id}: {status} {answer}")


def agency_outcomes(stack: Stack, requested: dict[str, str]) -> dict[str, Any]:
    """Joined or not, and request -> joined seconds, for each agency request of the run."""
    joined: list[float] = []
    missed = 0
    for call_id in requested:
        timeline = stack.record(call_id)["timeline"]
        at = {e["entry"]: e["at"] for e in reversed(timeline)}
        if "agency-joined" in at and "agency-requested" in at:
            joined.append(at["agency-joined"] - at["agency-requested"])
        else:
            missed += 1
    return {"agency_joined_s": joined, "agency_missed": missed}
