"""The real engine (pump, centre, lanes, timers, executor, reconcile) driven through the
in-memory fake Asterisk (fake_asterisk.py): what a caller and a call taker would notice.
A caller is greeted, offered to the longest-idle taker and put through; a phone that
rings unanswered is passed over for the next taker, and so is one that answers without
the SRTP the centre requires; one call whose Asterisk requests
hang holds nobody else up; after a (re)connect the engine adopts the calls Asterisk
holds (connected or waiting), ends the ones that went away meanwhile and cleans up
stray legs and bridges; a feature code logs a taker in and is confirmed; Asterisk's
recorded events of two real calls replay through the engine to the same outcome."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import redis.asyncio as aioredis

from ivr.adapters.ari.models import parse_event
from ivr.adapters.call_store import CallStore
from ivr.adapters.taker_store import TakerStore
from ivr.config.desk_phones import DeskPhones
from ivr.config.loader import load
from ivr.core.acd import events as acd
from ivr.core.acd.model import Activity, Declared
from ivr.core.call import CallPolicy, Phase
from ivr.engine.engine import Engine
from tests.unit.fake_asterisk import FakeAsterisk, FakeChannel, Phone

REPO = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "ari_events_two_calls.jsonl"
POLICY = CallPolicy(ring_seconds=1, quick_failure_seconds=0.3, record_calls=False)


async def until(condition: Callable[[], bool], what: str, seconds: float = 3.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        await asyncio.sleep(0.01)


@asynccontextmanager
async def centre(
    asterisk: FakeAsterisk | None = None, connect: bool = True, wrapup_seconds: int | None = None
) -> AsyncIterator[tuple[Engine, FakeAsterisk]]:
    asterisk = asterisk or FakeAsterisk()
    redis = aioredis.from_url("redis://127.0.0.1:1/0")  # nothing listens: records are held, never lost
    config = load(REPO / "queue" / "kendari.yaml")
    if wrapup_seconds is not None:
        timers = config.timers.model_copy(update={"wrapup_seconds": wrapup_seconds})
        config = config.model_copy(update={"timers": timers})
    engine = Engine(asterisk, CallStore(redis), TakerStore(redis), config, POLICY)
    asterisk.connect(engine.on_event)
    if connect:
        await engine.on_connected()
    try:
        yield engine, asterisk
    finally:
        await engine.stop(grace_seconds=0.2, writes_seconds=0.1)
        await asterisk.close()
        await redis.aclose()


def bridged(asterisk: FakeAsterisk, caller: str, leg: str) -> bool:
    return sorted(asterisk.mixes.get(f"{caller}-bridge", [])) == sorted([caller, leg])


async def test_a_caller_is_greeted_offered_to_the_longest_idle_taker_and_put_through() -> None:
    async with centre() as (engine, asterisk):
        engine.to_acd(acd.TakerLoggedIn("taker02"))  # idle longest
        engine.to_acd(acd.TakerLoggedIn("taker01"))
        caller = asterisk.caller_dials("081299000001")
        await until(lambda: bridged(asterisk, caller, f"{caller}-t1"), "caller and taker bridged")
        plays = [r[3] for r in asterisk.asked("play") if r[1] == caller]
        assert plays[0] == POLICY.greeting_media  # greeted first
        assert asterisk.asked("originate")[0][1] == "PJSIP/taker02"
        assert engine.calls[caller].phase is Phase.CONNECTED
        assert engine.acd.takers["taker02"].activity is Activity.ON_CALL
        assert not asterisk.asked("answer")  # the dialplan answered it already
        asterisk.hang_up(caller)
        await until(lambda: caller not in engine.calls, "the call ended")
        await until(lambda: f"{caller}-t1" not in asterisk.legs, "the taker's leg hung up")
        assert engine.acd.takers["taker02"].activity is not Activity.ON_CALL


async def test_a_phone_that_rings_unanswered_is_passed_over_for_the_next_taker() -> None:
    asterisk = FakeAsterisk()
    asterisk.phones["PJSIP/taker01"] = Phone(answers_after=None)
    async with centre(asterisk) as (engine, _):
        engine.to_acd(acd.TakerLoggedIn("taker01"))
        engine.to_acd(acd.TakerLoggedIn("taker02"))
        caller = asterisk.caller_dials()
        await until(lambda: bridged(asterisk, caller, f"{caller}-t2"), "put through to the second taker", 5)
        assert [r[1] for r in asterisk.asked("originate")] == ["PJSIP/taker01", "PJSIP/taker02"]
        assert engine.calls[caller].taker == "taker02"
        assert engine.acd.takers["taker01"].missed_in_a_row == 1


async def test_a_phone_answering_without_the_required_srtp_is_hung_up_and_the_next_taker_answers() -> None:
    asterisk = FakeAsterisk()
    asterisk.phones["PJSIP/taker01"] = Phone(answers_after=0.5, srtp=False)  # rings, answers with plain RTP
    asterisk.phones["PJSIP/taker02"] = Phone(srtp=True)
    async with centre(asterisk) as (engine, _):
        desk = DeskPhones(transport="tls", media_encryption="sdes")  # type: ignore[arg-type]
        engine.config = engine.config.model_copy(update={"desk_phones": desk})
        engine.to_acd(acd.TakerLoggedIn("taker01"))
        engine.to_acd(acd.TakerLoggedIn("taker02"))
        caller = asterisk.caller_dials()
        await until(lambda: bridged(asterisk, caller, f"{caller}-t2"), "put through to the SRTP phone", 5)
        assert [r[1] for r in asterisk.asked("originate")] == ["PJSIP/taker01", "PJSIP/taker02"]
        assert f"{caller}-t1" not in asterisk.legs  # hung up, never bridged with the caller
        assert not any(f"{caller}-t1" in members for members in asterisk.mixes.values())
        assert engine.calls[caller].taker == "taker02"
        assert engine.acd.takers["taker01"].missed_in_a_row == 1  # counts as a miss: soon paused


async def test_without_required_srtp_an_answer_is_not_checked() -> None:
    async with centre() as (engine, asterisk):
        engine.to_acd(acd.TakerLoggedIn("taker01"))
        caller = asterisk.caller_dials()
        await until(lambda: bridged(asterisk, caller, f"{caller}-t1"), "put through")
        assert not asterisk.asked("channel_var")


async def test_one_call_whose_requests_hang_holds_no_other_call_up() -> None:
    async with centre() as (engine, asterisk):
        engine.to_acd(acd.TakerLoggedIn("taker01"))
        engine.to_acd(acd.TakerLoggedIn("taker02"))
        stuck = asterisk.caller_dials("081299000001")
        asterisk.stalled.add(stuck)  # every request about this caller hangs in Asterisk
        other = asterisk.caller_dials("081299000002")
        await until(lambda: bridged(asterisk, other, f"{other}-t1"), "the second caller put through")
        assert stuck not in asterisk.mixes.get(f"{stuck}-bridge", [])  # its requests still hang
        assert engine.acd.takers["taker02"].call_id == other


async def test_after_a_reconnect_the_calls_asterisk_holds_are_adopted_and_strays_cleaned() -> None:
    asterisk = FakeAsterisk()
    talking, waiting = "1795846000.1", "1795846000.2"
    asterisk.add_existing(FakeChannel(talking, "PJSIP/carrier-1", "081211", app_args=["caller", "112"]))
    asterisk.add_existing(
        FakeChannel(f"{talking}-t1", "PJSIP/taker03-00000001", "112", app_args=["taker", talking])
    )
    asterisk.mixes[f"{talking}-bridge"] = [talking, f"{talking}-t1"]
    asterisk.add_existing(FakeChannel(waiting, "PJSIP/carrier-2", "081222", app_args=["caller", "112"]))
    asterisk.add_existing(
        FakeChannel("1795845000.9-t1", "PJSIP/taker04-00000002", "112", app_args=["taker", "1795845000.9"])
    )
    asterisk.mixes["1795845000.7-bridge"] = []
    async with centre(asterisk, connect=False) as (engine, _):
        engine.to_acd(acd.TakerLoggedIn("taker01"))
        await engine.on_connected()
        await asterisk.settle()
        assert engine.calls[talking].phase is Phase.CONNECTED and engine.calls[talking].taker == "taker03"
        assert engine.acd.takers["taker03"].call_id == talking  # busy with it: offered nothing else
        await until(lambda: bridged(asterisk, waiting, f"{waiting}-t1"), "the waiting caller put through")
        assert engine.calls[waiting].taker == "taker01"
        assert "1795845000.9-t1" not in asterisk.legs  # a leg of a call nobody tracks
        assert "1795845000.7-bridge" not in asterisk.mixes
        # The connection drops; meanwhile the first caller hangs up. The next connect ends that call.
        asterisk.quiet = True
        asterisk.hang_up(talking)
        asterisk.quiet = False
        await engine.on_connected()
        await until(lambda: talking not in engine.calls, "the call that ended while away is over")
        assert waiting in engine.calls and len(asterisk.asked("originate")) == 1  # nothing adopted twice


async def test_a_feature_code_logs_the_taker_in_and_is_confirmed() -> None:
    async with centre() as (engine, asterisk):
        phone = "PJSIP/taker05"
        channel = asterisk._channel(f"{phone}-00000009", "taker05")
        asterisk._enter_app(channel, ["feature", "*11", phone])
        await until(lambda: engine.acd.takers["taker05"].declared is Declared.AVAILABLE, "taker05 logged in")
        await until(lambda: channel.id not in asterisk.legs, "the confirmation played and the phone hung up")
        assert [r[3] for r in asterisk.asked("play")] == ["sound:ivr112/agent-logged-in"]


async def test_the_recorded_events_of_two_real_calls_replay_through_the_engine() -> None:
    """Asterisk's own events (quiet fake: it only answers requests) drive the real engine
    to what happened that day: both callers put through to taker02, then ended."""
    asterisk = FakeAsterisk(quiet=True)
    async with centre(asterisk, wrapup_seconds=0) as (engine, _):  # replayed faster than it happened
        engine.to_acd(acd.TakerLoggedIn("taker02"))
        arrived: list[str] = []
        for line in FIXTURE.read_text().splitlines():
            event = parse_event(line)
            arrived += [line.split('"id":"')[1].split('"')[0]] if '"args":["caller"' in line else []
            await engine.on_event(event)
            await asterisk.settle()
        assert len(arrived) == 2
        offers = asterisk.asked("originate")
        assert [(o[1], o[2]) for o in offers] == [("PJSIP/taker02", f"{c}-t1") for c in arrived]
        assert [r[1:] for r in asterisk.asked("add_channels")] == [
            (f"{c}-bridge", c, f"{c}-t1") for c in arrived
        ]
        assert not engine.calls  # both ended
