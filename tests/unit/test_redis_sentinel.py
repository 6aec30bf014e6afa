# Redis with Sentinel (ivr.adapters.redis_connect, IVR_REDIS_SENTINELS, IVR_REDIS_SERVICE):
# the Sentinels' list is read with a message naming the bad entry and the variable; empty
# keeps the one Redis at IVR_REDIS_URL; with Sentinels the client asks them for the primary
# and closing it closes them too; and what a failover throws at the stores (no primary known
# yet, a connection refused, a demoted primary's READONLY, a timeout) is "store unavailable":
# the write-behind holds the write and writes it whole once a primary answers, an ending too.
from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.sentinel import MasterNotFoundError
from redis.exceptions import ConnectionError, ReadOnlyError, RedisError, TimeoutError, WatchError

from ivr.adapters import redis_connect
from ivr.adapters.call_store import APPEND, CallStore, StoreUnavailable
from ivr.adapters.redis_connect import SentinelsInvalid, connect, parse_sentinels
from ivr.adapters.taker_store import TakerStore
from ivr.adapters.write_behind import WriteBehind
from ivr.settings import SettingsError, StoreSettings, load_settings

THREE = "10.0.0.21:26379,10.0.0.22:26379,sentinel-c.example:26379"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in list(os.environ):
        if name.startswith("IVR_"):
            monkeypatch.delenv(name)
    yield monkeypatch


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens there once it is closed


# ---- the list of Sentinels ------------------------------------------------------------
def test_sentinels_are_read_in_order_ipv6_in_brackets_and_empty_is_none() -> None:
    assert parse_sentinels(THREE) == [
        ("10.0.0.21", 26379),
        ("10.0.0.22", 26379),
        ("sentinel-c.example", 26379),
    ]
    assert parse_sentinels(" [fd00::23]:26379 , 10.0.0.21:26380 ") == [
        ("fd00::23", 26379),
        ("10.0.0.21", 26380),
    ]
    assert parse_sentinels("") == [] and parse_sentinels("  ") == []


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("10.0.0.21:26379,10.0.0.22,10.0.0.23:26379", "entry 2 ('10.0.0.22') is not host:port"),
        ("10.0.0.21:26379,10.0.0.22:99999", "entry 2 ('10.0.0.22:99999'): the port must be 1-65535"),
        ("10.0.0.21:26379,10.0.0.21:26379", "entry 2 ('10.0.0.21:26379') is listed twice"),
        ("10.0.0.21:26379,:26379", "entry 2 (':26379') is not host:port"),
        ("10.0.0.21:26379,bad host:26379", "entry 2 ('bad host:26379') is not host:port"),
        ("10.0.0.21:26379,,10.0.0.22:26379", "entry 2 ('') is not host:port"),
        ("10.0.0.21:26379", "one Sentinel ('10.0.0.21:26379') would be a single point of failure"),
    ],
)
def test_a_bad_entry_is_named(text: str, named: str) -> None:
    with pytest.raises(SentinelsInvalid) as caught:
        parse_sentinels(text)
    assert named in str(caught.value)


def test_settings_name_the_variable_and_the_entry(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("IVR_REDIS_SENTINELS", "10.0.0.21:26379,10.0.0.22:http")
    with pytest.raises(SettingsError) as caught:
        load_settings(StoreSettings)
    assert "IVR_REDIS_SENTINELS" in str(caught.value) and "'10.0.0.22:http'" in str(caught.value)
    clean_env.setenv("IVR_REDIS_SENTINELS", THREE)
    clean_env.setenv("IVR_REDIS_SERVICE", "ivr 112")
    with pytest.raises(SettingsError) as caught:
        load_settings(StoreSettings)
    assert "IVR_REDIS_SERVICE" in str(caught.value) and "IVR_REDIS_SENTINELS" not in str(caught.value)


def test_tls_urls_are_refused_with_sentinels(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("IVR_REDIS_SENTINELS", THREE)
    clean_env.setenv("IVR_REDIS_URL", "rediss://127.0.0.1:6380/0")
    with pytest.raises(SettingsError) as caught:
        load_settings(StoreSettings)
    assert "IVR_REDIS_SENTINELS" in str(caught.value) and "TLS" in str(caught.value)


def test_without_sentinels_the_one_redis_of_the_url_is_used_as_before(clean_env: pytest.MonkeyPatch) -> None:
    settings = load_settings(StoreSettings)
    assert (settings.redis_sentinels, settings.redis_service) == ("", "ivr112")
    assert settings.redis_where == "redis://127.0.0.1:6380/0"
    clean_env.setenv("IVR_REDIS_SENTINELS", THREE)
    clean_env.setenv("IVR_REDIS_SERVICE", "kendari-112")
    settings = load_settings(StoreSettings)
    assert settings.redis_where == f"primary 'kendari-112' of the Sentinels {THREE}"


# ---- the client -------------------------------------------------------------------------
async def test_without_sentinels_the_client_is_the_urls() -> None:
    client = connect("redis://127.0.0.1:6380/3", "a-password-here", "", timeout=2)
    try:
        options = client.connection_pool.connection_kwargs
        assert (options["host"], options["port"], options["db"]) == ("127.0.0.1", 6380, 3)
        assert (options["password"], options["socket_timeout"]) == ("a-password-here", 2)
    finally:
        await client.aclose()


async def test_with_sentinels_the_client_asks_them_with_the_password_and_closes_them() -> None:
    client = connect("redis://ignored:1/2", "a-password-here", THREE, "kendari-112", timeout=2)
    pool: Any = client.connection_pool
    assert pool.service_name == "kendari-112" and pool.connection_kwargs["db"] == 2
    assert pool.connection_kwargs["password"] == "a-password-here"
    sentinels = pool.sentinel_manager.sentinels
    asked = [
        (s.connection_pool.connection_kwargs["host"], s.connection_pool.connection_kwargs["port"])
        for s in sentinels
    ]
    assert asked == parse_sentinels(THREE)
    assert {s.connection_pool.connection_kwargs["password"] for s in sentinels} == {"a-password-here"}
    closed: list[str] = []
    for sentinel in sentinels:

        async def note(*args: Any, name: str = sentinel.connection_pool.connection_kwargs["host"]) -> None:
            closed.append(name)

        sentinel.aclose = note
    await client.aclose()
    assert sorted(closed) == ["10.0.0.21", "10.0.0.22", "sentinel-c.example"]


async def test_no_sentinel_answering_is_store_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_connect, "RETRIES", 0)  # fail at once: nothing will answer
    down = f"127.0.0.1:{closed_port()},127.0.0.1:{closed_port()}"
    client = connect("redis://127.0.0.1/0", None, down, "ivr112", timeout=0.5)
    try:
        with pytest.raises(StoreUnavailable) as caught:
            await CallStore(client).append("c1", "arrived", 1.0, {})
    finally:
        await client.aclose()
    assert "No master found for 'ivr112'" in str(caught.value)


@pytest.mark.parametrize(
    "error",
    [
        MasterNotFoundError("No master found for 'ivr112'"),
        ConnectionError("Error 111 connecting to 10.0.0.31:6379. Connection refused."),
        ReadOnlyError("You can't write against a read only replica."),
        TimeoutError("Timeout reading from 10.0.0.31:6379"),
        WatchError("A ConnectionError occurred on while watching one or more keys"),
    ],
)
def test_whatever_a_failover_throws_is_a_redis_error(error: Exception) -> None:
    assert isinstance(error, RedisError)  # which every store turns into StoreUnavailable


# ---- the stores through a failover ---------------------------------------------------------
class FailingOverRedis:
    """Just enough of redis.asyncio.Redis for CallStore and TakerStore: hashes, lists, sorted
    sets; the first `failures` transactions raise `error` and change nothing, as a write to a
    primary that went away (or was demoted) does."""

    def __init__(self, failures: int, error: RedisError) -> None:
        self.hashes: dict[str, dict[str, str]] = {}
        self.lists: dict[str, list[str]] = {}
        self.sorted: dict[str, dict[str, float]] = {}
        self.failures = failures
        self.error = error

    def pipeline(self, transaction: bool = True) -> FakePipeline:
        return FakePipeline(self)

    async def hgetall(self, key: str) -> dict[str, str]:
        return dict(self.hashes.get(key, {}))

    async def lrange(self, key: str, start: int, end: int) -> list[str]:
        return list(self.lists.get(key, []))

    async def zrem(self, key: str, *members: str) -> int:
        found = self.sorted.get(key, {})
        return sum(found.pop(m, None) is not None for m in members)


class FakePipeline:
    def __init__(self, redis: FailingOverRedis) -> None:
        self.redis = redis
        self.queued: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    async def __aenter__(self) -> FakePipeline:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.queued = []

    async def watch(self, *keys: str) -> None:
        pass

    async def hexists(self, key: str, field: str) -> bool:
        return field in self.redis.hashes.get(key, {})

    def multi(self) -> None:
        pass

    async def reset(self) -> None:
        self.queued = []

    def __getattr__(self, name: str) -> Any:
        def queue(*args: Any, **kwargs: Any) -> FakePipeline:
            self.queued.append((name, args, kwargs))
            return self

        return queue

    async def execute(self) -> list[Any]:
        queued, self.queued = self.queued, []
        if self.redis.failures > 0:
            self.redis.failures -= 1
            raise self.redis.error
        for name, args, kwargs in queued:
            if name == "rpush":
                self.redis.lists.setdefault(args[0], []).extend(args[1:])
            elif name == "hset":
                self.redis.hashes.setdefault(args[0], {}).update(kwargs["mapping"])
            elif name == "zadd":
                self.redis.sorted.setdefault(args[0], {}).update(args[1])
            elif name == "zrem":
                self.redis.sorted.get(args[0], {}).pop(args[1], None)
            elif name == "ltrim":
                pass
            elif name == "eval" and args[0] == APPEND:
                self._append(args[2:6], [str(a) for a in args[6:]])
            elif name != "expire":
                raise AssertionError(f"unexpected command {name}")
        return [True] * len(queued)

    def _append(self, keys: tuple[str, ...], argv: list[str]) -> None:
        """CallStore's APPEND script, as Redis runs it: an ending once, the rest in order."""
        record, timeline, calls, open_ = keys
        call_id, entry, at, item = argv[:4]
        found = self.redis.hashes.setdefault(record, {})
        if entry == "ended" and "ended_at" in found:
            self.redis.sorted.get(open_, {}).pop(call_id, None)
            return
        self.redis.lists.setdefault(timeline, []).append(item)
        found.update(zip(argv[5::2], argv[6::2], strict=True))
        if entry == "arrived":
            for index in (calls, open_):
                self.redis.sorted.setdefault(index, {})[call_id] = float(at)
        elif entry == "ended":
            self.redis.sorted.get(open_, {}).pop(call_id, None)


@pytest.mark.parametrize(
    "error",
    [
        ReadOnlyError("You can't write against a read only replica."),
        MasterNotFoundError("No master found for 'ivr112'"),
        ConnectionError("Connection closed by server."),
        TimeoutError("Timeout reading from socket"),
    ],
    ids=["demoted-primary", "no-primary-yet", "primary-gone", "timeout"],
)
async def test_a_call_and_a_status_change_in_a_failover_are_held_then_written_whole_in_order(
    error: RedisError,
) -> None:
    redis = FailingOverRedis(failures=3, error=error)
    client: Any = redis
    calls, takers = CallStore(client), TakerStore(client)
    writes = WriteBehind(retry_seconds=0.01)
    writes.submit("arrived", lambda: calls.append("c1", "arrived", 1.0, {"caller": "0812"}))
    writes.submit("status", lambda: takers.save("taker01", "paused", "break", 1.5, False))
    writes.submit("answered", lambda: calls.append("c1", "taker-answered", 2.0, {"taker": "taker01"}))
    writes.submit("ended", lambda: calls.append("c1", "ended", 3.0, {"outcome": "answered"}))
    await asyncio.sleep(0.015)
    assert writes.failing is not None and writes.held == 4  # held, not dropped
    await asyncio.wait_for(writes.settled(), 2)
    await writes.close()
    timeline = [json.loads(item)["entry"] for item in redis.lists["ivr:call:c1:timeline"]]
    assert timeline == ["arrived", "taker-answered", "ended"]
    assert redis.hashes["ivr:call:c1"]["outcome"] == "answered"
    assert "c1" in redis.sorted["ivr:calls"] and "c1" not in redis.sorted["ivr:open"]  # ended: not open
    assert redis.hashes["ivr:agent:taker01"]["declared"] == "paused"
    assert writes.failing is None


async def test_an_ending_cut_off_by_a_failover_is_written_whole_once() -> None:
    redis = FailingOverRedis(failures=1, error=ConnectionError("Connection closed by server."))
    store = CallStore(redis)  # type: ignore[arg-type]
    with pytest.raises(StoreUnavailable):
        await store.append("c1", "ended", 3.0, {"outcome": "answered"})
    await store.append("c1", "ended", 3.0, {"outcome": "answered"})  # the write-behind's retry
    await store.append("c1", "ended", 4.0, {"outcome": "handed-to-fallback"})  # a later one: dropped
    record = await store.get("c1")
    assert record is not None
    assert [e["entry"] for e in record["timeline"]] == ["ended"] and record["outcome"] == "answered"


def test_the_real_client_class_is_a_redis_client() -> None:
    client = connect("redis://127.0.0.1/0", None, THREE)
    assert isinstance(client, aioredis.Redis)
    asyncio.run(client.aclose())
