# GET /metrics as Prometheus reads it: the text parses, every family says what it is (HELP
# and TYPE), the process's own figures are there, nothing stands for "nothing" (no
# level="none"), the live state is read at each scrape (waiting callers, call takers, AMI
# logins, writes held while Redis is away, alarms by kind), finished calls are counted by
# outcome, verdict and answer time, and each control plane keeps its own registry.
# Rules: the real routes and engine (tests/unit/http_app.py); values are read from the
# parsed families, never from substrings of the text.
from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import prometheus_client
from prometheus_client.parser import text_string_to_metric_families

from ivr.adapters.call_store import StoreUnavailable
from ivr.core.acd.model import Declared, Waiting
from ivr.core.outcomes import Outcome
from ivr.engine.metrics import Metrics
from tests.unit.http_app import Api, api

DAY = 1_795_795_200.0


async def scrape(app: Api, role: str = "supervisor") -> str:
    response = await app.client.get("/metrics", headers=app.auth(role))
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return await response.text()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample: (name, its labels) -> value."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, frozenset(labels.items())))


def finished(outcome: str, answered_after: float | None, verdict: str = "normal") -> dict[str, Any]:
    timeline = [{"at": DAY, "entry": "arrived"}]
    if answered_after is not None:
        timeline.append({"at": DAY + answered_after, "entry": "taker-answered"})
    return {"outcome": outcome, "verdict": verdict, "timeline": timeline}


async def test_the_exposition_parses_and_every_family_says_what_it_is() -> None:
    async with api() as app:
        text = await scrape(app)
    families = list(text_string_to_metric_families(text))
    unexplained = [f.name for f in families if not f.documentation or f.type == "unknown"]
    assert unexplained == []
    names = {f.name for f in families}
    assert {"process_cpu_seconds", "process_resident_memory_bytes", "process_open_fds"} <= names
    assert {"ivr112_calls", "ivr112_answer_seconds", "ivr112_waiting_callers", "ivr112_takers"} <= names
    fake = [(s.name, s.labels) for f in families for s in f.samples if "none" in s.labels.values()]
    assert fake == []


async def test_waiting_callers_and_call_takers_are_read_at_each_scrape() -> None:
    async with api() as app:
        before = await scrape(app)
        acd = app.engine.centre.acd
        waiting = (
            Waiting("c1", "emergency", DAY),
            Waiting("c2", "emergency", DAY),
            Waiting("c3", "normal", DAY),
        )
        taker = replace(acd.takers["taker01"], declared=Declared.AVAILABLE)
        acd = replace(acd, waiting=waiting, takers={**acd.takers, "taker01": taker})
        app.engine.centre = replace(app.engine.centre, acd=acd)
        after = await scrape(app)
    levels = set(app.engine.acd.policy.levels)
    assert {level: value(before, "ivr112_waiting_callers", level=level) for level in levels} == dict.fromkeys(
        levels, 0.0
    )
    assert value(after, "ivr112_waiting_callers", level="emergency") == 2
    assert value(after, "ivr112_waiting_callers", level="normal") == 1
    assert value(before, "ivr112_takers", state="idle", reachable="true") == 0
    assert value(after, "ivr112_takers", state="idle", reachable="true") == 1
    assert value(after, "ivr112_takers", state="logged-out", reachable="true") == len(acd.takers) - 1
    assert value(after, "ivr112_agents", state="idle", reachable="true") == 1  # the former name


async def test_ami_logins_writes_held_and_alarms_by_kind() -> None:
    async def redis_away() -> None:
        raise StoreUnavailable("connection refused")

    async with api(ami=lambda: {"a1": True, "a2": False}) as app:
        quiet = await scrape(app)
        app.engine.writes.submit("a call's entry", redis_away)
        for _ in range(100):
            if app.engine.writes.failing:
                break
            await asyncio.sleep(0.01)
        text = await scrape(app)
        await app.engine.writes.close(grace_seconds=0.01)
    assert value(quiet, "ivr112_writes_held") == 0
    assert value(quiet, "ivr112_alarms", kind="records-held") == 0
    assert value(text, "ivr112_writes_held") == 1
    alarms = {
        dict(labels)["kind"]: v for (name, labels), v in samples(text).items() if name == "ivr112_alarms"
    }
    assert alarms == {
        "records-held": 1,
        "recordings": 0,
        "agency-contact": 0,
        "asterisk-node": 0,
        "sip-edge": 0,
        "service-level": 0,
    }
    assert value(text, "ivr112_ami_logged_in", node="a1") == 1
    assert value(text, "ivr112_ami_logged_in", node="a2") == 0
    assert value(text, "ivr112_ari_connected") == 1 and value(text, "ivr112_active") == 1


async def test_finished_calls_are_counted_by_outcome_verdict_and_answer_time() -> None:
    async with api() as app:
        app.engine.metrics.call_finished(finished("answered", 12.0))
        app.engine.metrics.call_finished(finished("abandoned-in-queue", None, verdict="emergency"))
        text = await scrape(app)
    assert value(text, "ivr112_calls_total", outcome="answered") == 1
    assert value(text, "ivr112_calls_total", outcome="abandoned-in-queue") == 1
    handed_over = value(text, "ivr112_calls_total", outcome=Outcome.HANDED_TO_FALLBACK.value)
    assert handed_over == 0  # there from the start: a rate over it is 0, not missing
    assert value(text, "ivr112_screening_verdicts_total", verdict="normal") == 1
    assert value(text, "ivr112_screening_verdicts_total", verdict="prank") == 0
    assert value(text, "ivr112_answer_seconds_bucket", le="10") == 0
    assert value(text, "ivr112_answer_seconds_bucket", le="15") == 1
    assert value(text, "ivr112_answer_seconds_count") == 1 and value(text, "ivr112_answer_seconds_sum") == 12


async def test_each_control_plane_counts_in_its_own_registry() -> None:
    async with api() as first, api() as second:
        first.engine.metrics.call_finished(finished("answered", 3.0))
        counted, untouched = await scrape(first), await scrape(second)
    assert value(counted, "ivr112_calls_total", outcome="answered") == 1
    assert value(untouched, "ivr112_calls_total", outcome="answered") == 0
    assert prometheus_client.REGISTRY.get_sample_value("ivr112_calls_total", {"outcome": "answered"}) is None


def test_a_record_without_an_outcome_is_counted_as_unknown_beside_the_named_ones() -> None:
    metrics = Metrics()
    metrics.call_finished({"timeline": []})
    counted = {
        sample.labels["outcome"]: sample.value
        for family in metrics.collect()
        for sample in family.samples
        if sample.name == "ivr112_calls_total"
    }
    assert counted == {**dict.fromkeys((o.value for o in Outcome), 0.0), "unknown": 1.0}
