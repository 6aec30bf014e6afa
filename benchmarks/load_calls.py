"""Per-call figures of a load run, from the records each path leaves: the control plane's
call records (Redis) and the native queue's lines (Asterisk's database, read then deleted
so the next path's control plane does not take them over).

What is measured per call: its audio (the injection file's, the same on every path),
the wait from arrival to a call taker answering, the screening (first verdict against
the greeting's end and the first offer, energy-only or speech detection, how long it
listened) and the order callers reached call takers in (a caller moved down never before
a normal caller who arrived earlier).
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.load_desk import PRANK_NUMBER
from ivr.core import native_line
from tests.integration.stack import Stack

if TYPE_CHECKING:
    from benchmarks.load import Scenario

GREETING_END = ("greeting-done", "greeting-timeout", "greeting-failed")
WAITED_S = 0.5  # offered later than this after the greeting ended: the caller waited in the queue
MOVED_DOWN = frozenset({"silent", "prank", "blocked"})  # final verdicts that rank a caller below normal


KINDS = ("speech", "speech", "noise", "silent")  # what each caller sends: half speak


def caller_kinds(sc: Scenario) -> list[tuple[str, str]]:
    """(number, audio) per caller, the same on every path of a run: numbers in order, the
    repeat prank number every prank_every-th, the audio drawn from KINDS (fixed seed)."""
    draw = random.Random(112)
    return [
        (PRANK_NUMBER if sc.prank_every and i % sc.prank_every == sc.prank_every - 1 else f"0812{i:06d}",
         draw.choice(KINDS))
        for i in range(sc.calls)
    ]  # fmt: skip


def kinds_by_number(sc: Scenario) -> dict[str, str]:
    return {number: kind for number, kind in caller_kinds(sc) if number != PRANK_NUMBER}


def native_records(stack: Stack, sc: Scenario) -> dict[str, Any]:
    """The native path's figures from the dialplan's lines; the lines are deleted after."""
    kinds = kinds_by_number(sc)
    waits: dict[str, list[float]] = {}
    outcomes: dict[str, int] = {}
    lines = stack.native_lines()
    for call_id, value in lines.items():
        call = native_line.parse(call_id, value)
        outcomes[call.outcome.value] = outcomes.get(call.outcome.value, 0) + 1
        if call.answered_at is not None:
            kind = kinds.get(call.number, "prank number")
            waits.setdefault(kind, []).append(call.answered_at - call.arrived)
    stack.clear_native_lines()
    return {"records": len(lines), "no_record": max(0, sc.calls - len(lines)), "outcomes": outcomes,
            "wait_by_kind_s": waits, "answer_s": [w for ws in waits.values() for w in ws]}  # fmt: skip


def records(stack: Stack, before: set[str], folder: Path, sc: Scenario) -> dict[str, Any]:
    """Per-call figures from the control plane's records (calls.csv in the run folder)."""
    kinds = kinds_by_number(sc)
    ids = [c for c in stack.call_ids() if c not in before]
    to_taker: dict[str, list[float]] = {}
    by_kind: dict[str, list[float]] = {}
    screening: list[float] = []
    outcomes: dict[str, int] = {}
    verdicts: dict[str, int] = {}
    prank_levels: list[str] = []
    timing: list[dict[str, Any]] = []  # per call: when the verdict came against the greeting and the offer
    order: list[Placed] = []  # arrived, first offered, final verdict, joined the line, call
    listened = 0.0
    no_outcome = 0
    answer: list[float] = []  # INVITE -> a call taker answered, every caller who got one
    at_once: list[float] = []  # the same, callers offered on arrival (a call taker was free)
    with (folder / "calls.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["call_id", "caller", "audio", "level", "verdict", "outcome", "to_taker_s", "screening_s"]
        )
        for call_id in ids:
            record = stack.record(call_id)
            at = {e["entry"]: e["at"] for e in reversed(record["timeline"])}
            last_verdict = max(
                (e["at"] for e in record["timeline"] if e["entry"] == "screened"), default=None
            )
            outcome = record.get("outcome") or ""
            no_outcome += not outcome
            outcomes[outcome or "none"] = outcomes.get(outcome or "none", 0) + 1
            verdict = record.get("verdict") or "none"
            verdicts[verdict] = verdicts.get(verdict, 0) + 1
            caller = record.get("caller") or ""
            kind = kinds.get(caller, "prank number")
            if caller == PRANK_NUMBER:
                prank_levels.append(record.get("level") or "?")
            wait = at["taker-answered"] - at["arrived"] if {"taker-answered", "arrived"} <= set(at) else None
            screen = (
                at["screened"] - at["screening-started"]
                if {"screened", "screening-started"} <= set(at)
                else None
            )
            if last_verdict is not None and "screening-started" in at:
                listened += last_verdict - at["screening-started"]
            timing.append(screening_timing(at, record, wait))
            if "arrived" in at:
                in_line = next((at[e] for e in GREETING_END if e in at), None)
                order.append(Placed(at["arrived"], at.get("offered"), verdict, in_line, call_id))
            if wait is not None:
                answer.append(wait)
                if offered_on_arrival(at):
                    at_once.append(wait)
                to_taker.setdefault(record.get("level") or "?", []).append(wait)
                by_kind.setdefault(kind, []).append(wait)
            if screen is not None:
                screening.append(screen)
            writer.writerow([call_id, caller, kind, record.get("level"), verdict, outcome, wait, screen])
    return {"records": len(ids), "no_outcome": no_outcome, "to_taker_s": to_taker, "screening_s": screening,
            "verdicts": verdicts, "outcomes": outcomes, "prank_levels": prank_levels,
            "timing": timing, "wait_by_kind_s": by_kind, "listened_s": listened,
            "answer_s": answer, "answer_at_once_s": at_once,
            "order_violations": len(wrong := order_violations(order)),
            "order_violations_in_greeting": sum(n.in_line is None or n.in_line > m.offered for m, n in wrong
                                                if m.offered is not None),
            "order_violation_pairs": [pair_text(m, n) for m, n in wrong]}  # fmt: skip


AT_ONCE_S = 0.05  # offered this soon after the answer: in the same step (a call taker was free)


def offered_on_arrival(at: dict[str, float]) -> bool:
    """Offered as it was answered: a call taker was free when the caller came (one freed
    later in the greeting takes the earliest caller in a greeting, not counted here)."""
    return {"offered", "answered"} <= set(at) and at["offered"] - at["answered"] <= AT_ONCE_S


def screening_timing(at: dict[str, float], record: dict[str, Any], wait: float | None) -> dict[str, Any]:
    """One call's screening against its wait: screened or not (and how), or gone in the
    greeting before any verdict was due; the first verdict's lateness after the greeting's
    end, whether it came after the first offer, the wait."""
    ended = next((at[e] for e in GREETING_END if e in at), None)
    verdict_at, offered = at.get("screened"), at.get("offered")
    first = next((e.get("verdict") for e in record["timeline"] if e["entry"] == "screened"), None)
    flags = (record.get("flags") or "").split()
    return {
        "screened": verdict_at is not None and "unscreened" not in flags,
        "energy_only": "energy-only" in flags,
        # hung up in the greeting before a call taker answered: the verdict is due at the
        # greeting's end, so none was made
        "left_in_greeting": verdict_at is None and ended is None and "taker-answered" not in at,
        "late_s": verdict_at - ended if verdict_at is not None and ended is not None else None,
        "after_offer": verdict_at is not None and offered is not None and verdict_at > offered,
        "waited": offered is not None and ended is not None and offered - ended > WAITED_S,
        "verdict": first or "none",
        "wait_s": wait,
    }


@dataclass(frozen=True)
class Placed:
    arrived: float
    offered: float | None  # first offer
    verdict: str  # final
    in_line: float | None  # the greeting's end: when the ACD got the caller
    call_id: str = ""


def pair_text(moved: Placed, normal: Placed) -> str:
    """One pair for the report: each caller's arrival, entry in line and first offer (s)."""

    def times(c: Placed) -> str:
        def t(at: float | None) -> str:
            return "-" if at is None else f"{at - normal.arrived:.1f}"

        return (
            f"{c.call_id} ({c.verdict}): arrived {t(c.arrived)}, in line {t(c.in_line)}, "
            f"offered {t(c.offered)}"
        )

    return f"{times(moved)}; {times(normal)}"


def order_violations(calls: list[Placed]) -> list[tuple[Placed, Placed]]:
    """Pairs (moved down, normal) where a caller moved down (silent, prank) was offered to a
    call taker while a normal caller who arrived at the same time or earlier was still
    waiting (not offered yet). Offers, not answers: two callers offered together may be
    answered in either order."""
    normal = sorted((c for c in calls if c.verdict == "normal"), key=lambda c: c.arrived)
    return [
        (moved, earlier)
        for moved in calls
        if moved.verdict in MOVED_DOWN and moved.offered is not None
        for earlier in normal
        if earlier.arrived <= moved.arrived and (earlier.offered is None or earlier.offered > moved.offered)
    ]
