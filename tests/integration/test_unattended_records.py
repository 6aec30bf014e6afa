# Records left open while no control plane attended, on the real Redis: a record is open
# from 'arrived' to 'ended'; after a node's channels are listed, the open records of its
# callers who were gone are closed once settled (never one the centre tracked, one whose
# caller was still there, another node's, or one that ended meanwhile); a lost node's
# open records are cut off; each closed call is finished once, also when two connects
# look at it together.
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import pytest
import redis.asyncio as aioredis

from ivr.adapters.call_store import CallStore, TimelineEntry
from ivr.core.commands import RecordTimeline
from ivr.engine.unattended_records import UnattendedRecords
from tests.integration.stack import Stack

pytestmark = pytest.mark.integration
PREFIX = "ivr-test-unattended"


def run(stack: Stack, scenario: Callable[[CallStore, aioredis.Redis], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        redis = aioredis.Redis(port=stack.redis_port, password=stack.env["IVR_REDIS_PASSWORD"])
        for key in await redis.keys(f"{PREFIX}:*"):
            await redis.delete(key)
        try:
            return await scenario(CallStore(redis, PREFIX), redis)
        finally:
            for key in await redis.keys(f"{PREFIX}:*"):
                await redis.delete(key)
            await redis.aclose()

    return asyncio.run(go())


async def nothing_held() -> None:
    return None


def holding(calls: set[str]) -> Callable[[], Any]:
    """The centre as the closer reads it: the calls it holds (read at each look)."""
    return lambda: SimpleNamespace(calls=dict.fromkeys(calls), callbacks={})


async def arrive(store: CallStore, call_id: str, at: float, *entries: str) -> None:
    await store.append(call_id, "arrived", at, {"caller": "081234500001", "dialled": "112"})
    for n, entry in enumerate(entries, 1):
        await store.append(call_id, entry, at + n, {})


def test_the_open_records_of_callers_gone_unseen_are_closed_and_no_other(stack: Stack) -> None:
    finished: list[tuple[str, str]] = []
    published: list[RecordTimeline] = []
    tracked: set[str] = {"a1-tracked"}

    async def scenario(store: CallStore, redis: aioredis.Redis) -> dict[str, Any]:
        await arrive(store, "a1-waited", 100.0, "answered", "greeting-done")
        await arrive(store, "a1-greeted", 100.0, "answered")
        await arrive(store, "a1-spoke", 100.0, "answered", "greeting-done", "offered", "connected")
        await arrive(store, "a1-tracked", 100.0, "answered")
        await arrive(store, "a1-present", 100.0, "answered")
        await arrive(store, "a2-other", 100.0, "answered")
        await arrive(store, "a1-late", 300.0, "answered")  # arrived after the listing
        await arrive(store, "a1-done", 100.0, "answered")
        await store.append("a1-done", "ended", 150.0, {"by": "caller", "outcome": "abandoned-in-greeting"})
        assert "a1-done" not in await store.open_calls(1000.0)

        records = UnattendedRecords(
            store,
            holding(tracked),
            lambda c, o: finished.append((c, o)),
            lambda: 400.0,
            nothing_held,
            0.05,
            note=published.append,
        )
        present = {"a1-present", "a1-present-rec"}
        await records.after_listing(200.0, present, {"a1-tracked"}, lambda i: i.startswith("a1-"))
        return {
            i: await store.get(i)
            for i in (
                "a1-waited",
                "a1-greeted",
                "a1-spoke",
                "a1-tracked",
                "a1-present",
                "a2-other",
                "a1-late",
                "a1-done",
            )
        } | {"open": await store.open_calls(1000.0)}

    got = run(stack, scenario)
    assert sorted(finished) == [
        ("a1-greeted", "abandoned-in-greeting"),
        ("a1-spoke", "answered"),
        ("a1-waited", "abandoned-in-queue"),
    ]
    waited = got["a1-waited"]
    assert waited["outcome"] == "abandoned-in-queue" and waited["by"] == "found open"
    assert [e["entry"] for e in waited["timeline"]][-2:] == ["unattended", "ended"]
    assert float(waited["ended_at"]) == 400.0 and float(waited["timeline"][-2]["last_seen_at"]) == 102.0
    for kept_open in ("a1-tracked", "a1-present", "a2-other", "a1-late"):
        assert "ended_at" not in got[kept_open], kept_open
    assert got["a1-done"]["outcome"] == "abandoned-in-greeting"  # its own ending stands
    assert sorted(got["open"]) == ["a1-late", "a1-present", "a1-tracked", "a2-other"]
    ended = sorted(n.call_id for n in published if n.entry == "ended")  # other systems hear of it
    assert ended == ["a1-greeted", "a1-spoke", "a1-waited"]


def test_a_record_that_ends_or_is_adopted_while_settling_is_left_to_its_own_ending(stack: Stack) -> None:
    finished: list[str] = []
    tracked: set[str] = set()

    async def scenario(store: CallStore, redis: aioredis.Redis) -> dict[str, Any]:
        await arrive(store, "natively", 100.0, "answered", "greeting-done")
        await arrive(store, "adopted", 100.0, "answered", "greeting-done")
        records = UnattendedRecords(
            store, holding(tracked), lambda c, o: finished.append(c), lambda: 400.0, nothing_held, 0.5
        )
        closing = asyncio.create_task(records.after_listing(200.0, set(), set()))
        await asyncio.sleep(0.1)
        # meanwhile the native sweep wrote the native queue's ending, and the centre took the other up
        await store.append("natively", "ended", 210.0, {"by": "native queue", "outcome": "answered"})
        tracked.add("adopted")
        await closing
        return {"natively": await store.get("natively"), "adopted": await store.get("adopted")}

    got = run(stack, scenario)
    assert finished == []
    assert got["natively"]["outcome"] == "answered" and got["natively"]["by"] == "native queue"
    assert "unattended" not in [e["entry"] for e in got["natively"]["timeline"]]
    assert "ended_at" not in got["adopted"]


def test_the_centre_s_own_endings_held_behind_are_stored_before_anything_is_closed(stack: Stack) -> None:
    finished: list[str] = []

    async def scenario(store: CallStore, redis: aioredis.Redis) -> dict[str, Any]:
        await arrive(store, "held", 100.0, "answered", "greeting-done")
        release = asyncio.Event()

        async def held_behind() -> None:  # the write-behind stores the centre's ending, then settles
            await release.wait()
            await store.append("held", "ended", 150.0, {"by": "caller", "outcome": "abandoned-in-queue"})

        records = UnattendedRecords(
            store, holding(set()), lambda c, o: finished.append(c), lambda: 400.0, held_behind, 0.0
        )
        closing = asyncio.create_task(records.after_listing(200.0, set(), set()))
        await asyncio.sleep(0.2)
        assert not closing.done()
        release.set()
        await closing
        return await store.get("held") or {}

    got = run(stack, scenario)
    assert finished == [] and got["by"] == "caller" and float(got["ended_at"]) == 150.0


def test_a_lost_node_s_open_records_are_cut_off_and_a_callback_there_failed(stack: Stack) -> None:
    finished: list[tuple[str, str]] = []

    async def scenario(store: CallStore, redis: aioredis.Redis) -> dict[str, Any]:
        await arrive(store, "a1-1.1", 100.0, "answered", "greeting-done", "offered", "connected")
        await arrive(store, "a1-1.2", 100.0, "answered", "greeting-done")
        await store.append(
            "a1-1.2-cb1", "arrived", 110.0, {"caller": "081234500001", "callback_of": "a1-1.2"}
        )
        await arrive(store, "a1-1.3", 100.0, "answered")  # tracked by the centre: its own NodeLost
        await arrive(store, "a2-2.1", 100.0, "answered")
        records = UnattendedRecords(
            store, holding(set()), lambda c, o: finished.append((c, o)), lambda: 400.0, nothing_held, 0.0
        )
        await records.node_lost("a1", lambda i: i.startswith("a1-"), {"a1-1.3"})
        return {i: await store.get(i) for i in ("a1-1.1", "a1-1.2", "a1-1.2-cb1", "a1-1.3", "a2-2.1")}

    got = run(stack, scenario)
    assert sorted(finished) == [("a1-1.1", "cut-off"), ("a1-1.2", "cut-off"), ("a1-1.2-cb1", "failed")]
    assert "(a1)" in got["a1-1.1"]["timeline"][-2]["reason"]
    told = [e for e in got["a1-1.2"]["timeline"] if e["entry"] == "callback-result"]
    assert [(e["callback"], e["result"]) for e in told] == [("a1-1.2-cb1", "failed")]
    assert "ended_at" not in got["a1-1.3"] and "ended_at" not in got["a2-2.1"]


def test_two_connects_close_together_end_a_record_once(stack: Stack) -> None:
    finished: list[str] = []

    async def scenario(store: CallStore, redis: aioredis.Redis) -> dict[str, Any]:
        await arrive(store, "a1-twice", 100.0, "answered", "greeting-done")
        records = UnattendedRecords(
            store, holding(set()), lambda c, o: finished.append(c), lambda: 400.0, nothing_held, 0.2
        )
        first = asyncio.create_task(records.after_listing(200.0, set(), set()))
        await asyncio.sleep(0.05)
        second = asyncio.create_task(records.after_listing(210.0, set(), set()))  # a reconnect meanwhile
        await asyncio.gather(first, second)
        return await store.get("a1-twice") or {}

    got = run(stack, scenario)
    assert finished == ["a1-twice"]
    assert [e["entry"] for e in got["timeline"]].count("unattended") == 1


def test_timeline_entries_written_together_keep_their_order_and_a_call_ends_once(stack: Stack) -> None:
    """The write-behind's batches on the real Redis: many calls' entries in one write, each
    record as written one by one; a second ending in the same batch is dropped."""

    async def scenario(store: CallStore, redis: aioredis.Redis) -> dict[str, Any]:
        await store.append_many([
            TimelineEntry("b-1", "arrived", 100.0, {"caller": "081234500001", "dialled": "112"}),
            TimelineEntry("b-2", "arrived", 101.0, {"caller": "081234500002", "dialled": "110"}),
            TimelineEntry("b-1", "taker-answered", 102.0, {"taker": "taker01"}),
            TimelineEntry("b-1", "ended", 103.0, {"by": "caller", "outcome": "answered"}),
            TimelineEntry("b-1", "ended", 104.0, {"by": "watchdog", "outcome": "handed-to-fallback"}),
        ])  # fmt: skip
        got = {c: await store.get(c) or {} for c in ("b-1", "b-2")}
        ttl = await redis.ttl(f"{PREFIX}:call:b-1:timeline")
        return {"records": got, "open": await store.open_calls(1000.0), "ttl": ttl,
                "calls": await redis.zrange(f"{PREFIX}:calls", 0, -1)}  # fmt: skip

    got = run(stack, scenario)
    one, two = got["records"]["b-1"], got["records"]["b-2"]
    assert [e["entry"] for e in one["timeline"]] == ["arrived", "taker-answered", "ended"]
    assert (one["outcome"], one["by"], one["taker"]) == ("answered", "caller", "taker01")
    assert float(one["arrived_at"]) == 100.0 and float(one["ended_at"]) == 103.0
    assert two["dialled"] == "110" and "ended_at" not in two
    assert got["open"] == ["b-2"] and got["calls"] == [b"b-1", b"b-2"]
    assert 29 * 86400 < got["ttl"] <= 30 * 86400
