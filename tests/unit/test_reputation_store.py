# A Redis outage while screening looks a caller up: the error says what failed, never the
# caller's number (it may be withheld, and the message reaches the logs).
from __future__ import annotations

import socket

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from ivr.adapters.call_store import StoreUnavailable
from ivr.adapters.reputation_store import ReputationStore

NUMBER = "085712345678"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens there once it is closed


async def test_an_outage_names_what_failed_and_never_the_number() -> None:
    client = aioredis.Redis(port=closed_port(), socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    store = ReputationStore(client)
    try:
        with pytest.raises(StoreUnavailable) as reading:
            await store.reputation(NUMBER, 0.0)
        with pytest.raises(StoreUnavailable) as blocking:
            await store.blocked_until(NUMBER, 0.0)
    finally:
        await client.aclose()
    assert "reputation" in str(reading.value) and NUMBER not in str(reading.value)
    assert "block" in str(blocking.value) and NUMBER not in str(blocking.value)
