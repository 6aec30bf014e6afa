"""The engine's event path never waits on Asterisk: with an Asterisk that does not answer
its requests, a call taker's feature code still changes their status at once, and the
events that follow (another call arriving) are handled at once too."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import redis.asyncio as aioredis

from ivr.adapters.ari.models import parse_event
from ivr.adapters.ari.rest import AriRest
from ivr.adapters.call_store import CallStore
from ivr.adapters.taker_store import TakerStore
from ivr.config.loader import load
from ivr.core.acd.model import Declared
from ivr.core.call import CallPolicy
from ivr.engine.engine import Engine

REPO = Path(__file__).resolve().parents[2]


class StalledAsterisk:
    """Takes every request and never answers it."""

    app = "ivr112"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __getattr__(self, name: str) -> Any:
        async def never(*args: Any, **kwargs: Any) -> None:
            self.asked.append(name)
            await asyncio.Event().wait()

        return never


def stasis_start(channel: str, args: list[str], number: str = "081299") -> Any:
    return parse_event(
        {
            "type": "StasisStart",
            "timestamp": "2026-11-28T06:14:36.974+0000",
            "args": args,
            "channel": {
                "id": channel,
                "name": f"PJSIP/x-{channel}",
                "state": "Up",
                "caller": {"name": "", "number": number},
                "connected": {"name": "", "number": ""},
                "accountcode": "",
                "dialplan": {"context": "x", "exten": "112", "priority": 1},
                "creationtime": "2026-11-28T06:14:36.974+0000",
                "language": "id",
            },
            "application": "ivr112",
        }
    )


async def test_a_stalled_asterisk_holds_no_event_back() -> None:
    redis = aioredis.from_url("redis://127.0.0.1:1/0")  # nothing listens there
    asterisk = StalledAsterisk()
    engine = Engine(cast(AriRest, asterisk), CallStore(redis), TakerStore(redis),
                    load(REPO / "queue" / "kendari.yaml"), CallPolicy())  # fmt: skip
    async with asyncio.timeout(1.0):  # each would wait forever if the engine awaited Asterisk
        await engine.on_event(stasis_start("9.1", ["feature", "*11", "PJSIP/taker01"]))
        await engine.on_event(stasis_start("9.2", ["taker", "1700000000.9"]))  # a call that is over
        await engine.on_event(stasis_start("9.3", ["caller", "112"]))
    assert engine.acd.takers["taker01"].declared is Declared.AVAILABLE  # logged in at once
    assert "9.3" in engine.calls  # the next call is being handled
    await asyncio.sleep(0.05)
    assert {"answer", "hangup"} <= set(asterisk.asked)  # the requests went out, off the event path
    await engine.stop(grace_seconds=0.1)  # gives up on what Asterisk never answered
    await redis.aclose()
