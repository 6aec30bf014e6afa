# Writes held while the store is away (ivr.adapters.write_behind): submit never waits,
# writes happen in order, a failing write is retried with everything after it held
# behind it, and once the store returns they are all written, in order.
from __future__ import annotations

import asyncio

from ivr.adapters.call_store import StoreUnavailable
from ivr.adapters.write_behind import WriteBehind


class FlakyStore:
    def __init__(self) -> None:
        self.up = True
        self.written: list[str] = []

    def write(self, item: str):  # type: ignore[no-untyped-def]
        async def go() -> None:
            if not self.up:
                raise StoreUnavailable("connection refused")
            self.written.append(item)

        return go


async def test_writes_are_held_while_the_store_is_away_and_written_back_in_order() -> None:
    store, writes = FlakyStore(), WriteBehind(retry_seconds=0.01)
    writes.submit("a", store.write("arrived"))
    await writes.settled()
    store.up = False
    for item in ("answered", "connected", "ended"):
        writes.submit(item, store.write(item))  # returns at once: nothing waits on the store
    await asyncio.sleep(0.05)
    assert store.written == ["arrived"] and writes.held == 3 and writes.failing == "connection refused"
    store.up = True
    await asyncio.wait_for(writes.settled(), 1)
    assert store.written == ["arrived", "answered", "connected", "ended"]
    assert writes.held == 0 and writes.failing is None
    await writes.close()


async def test_close_gives_up_on_a_store_that_does_not_return() -> None:
    store, writes = FlakyStore(), WriteBehind(retry_seconds=0.01)
    store.up = False
    writes.submit("x", store.write("x"))
    await writes.close(grace_seconds=0.05)
    assert store.written == [] and writes.held == 1


async def test_beyond_the_limit_the_oldest_held_write_goes() -> None:
    store, writes = FlakyStore(), WriteBehind(max_pending=2, retry_seconds=0.01)
    store.up = False
    for item in ("1", "2", "3"):
        writes.submit(item, store.write(item))
    assert writes.held == 2
    store.up = True
    await asyncio.wait_for(writes.settled(), 1)
    assert store.written == ["2", "3"]
    await writes.close()


async def test_a_reader_waits_for_the_writes_before_it_and_not_for_later_ones() -> None:
    written: list[str] = []
    gate = asyncio.Event()

    def write(item: str, wait: bool = False):  # type: ignore[no-untyped-def]
        async def go() -> None:
            if wait:
                await gate.wait()
            written.append(item)

        return go

    writes = WriteBehind()
    writes.submit("1", write("1"))
    first = writes.settled()
    writes.submit("2", write("2", wait=True))  # a slow store round trip
    given_up = asyncio.create_task(asyncio.wait_for(writes.settled(), 0.01))
    writes.submit("3", write("3"))
    last = writes.settled()
    await asyncio.wait_for(first, 1)  # back while "2" is still being written
    assert written == ["1"] and not last.done()
    await asyncio.sleep(0.05)
    assert given_up.done() and not last.done()  # a reader that gave up costs the others nothing
    gate.set()
    await asyncio.wait_for(last, 1)
    assert written == ["1", "2", "3"]
    await writes.close()


class BatchingStore:
    """Counts the writes the store is asked for: one per batch."""

    def __init__(self) -> None:
        self.up = True
        self.writes: list[list[str]] = []

    async def many(self, items: list[str]) -> None:
        if not self.up:
            raise StoreUnavailable("connection refused")
        self.writes.append(list(items))

    def one(self, item: str):  # type: ignore[no-untyped-def]
        async def go() -> None:
            if not self.up:
                raise StoreUnavailable("connection refused")
            self.writes.append([item])

        return go


async def test_entries_submitted_together_reach_the_store_in_one_write_in_order() -> None:
    store, writes = BatchingStore(), WriteBehind(retry_seconds=0.01)
    for n in range(100):  # a surge: many calls' timeline entries at once
        writes.submit_batched(f"e{n}", f"e{n}", store.many)
    await asyncio.wait_for(writes.settled(), 1)
    assert [item for write in store.writes for item in write] == [f"e{n}" for n in range(100)]
    assert len(store.writes) <= 3  # 64 at most per write, and the first may go alone
    await writes.close()


async def test_a_batch_never_takes_an_entry_from_behind_a_write_of_another_kind() -> None:
    store, writes = BatchingStore(), WriteBehind(retry_seconds=0.01)
    store.up = False  # everything held, so the line is whole when the store returns
    writes.submit_batched("arrived", "arrived", store.many)
    writes.submit_batched("offered", "offered", store.many)
    writes.submit("login", store.one("login"))
    writes.submit_batched("ended", "ended", store.many)
    await asyncio.sleep(0.03)
    assert writes.held == 4 and writes.failing == "connection refused"
    store.up = True
    await asyncio.wait_for(writes.settled(), 1)
    assert store.writes == [["arrived", "offered"], ["login"], ["ended"]]
    assert writes.held == 0 and writes.failing is None
    await writes.close()
