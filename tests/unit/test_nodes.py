# Several Asterisk nodes behind one control plane: requests reach the node holding the
# object, a dead node fails nobody else, a node's reconnect judges only its own calls,
# and a lost node's callers are cut off and listed to be called back, with the reason.
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ivr.adapters.ari.node_watch import NodeWatch
from ivr.adapters.ari.nodes import NodeRouter, NodesInvalid, node_of, parse_nodes
from ivr.adapters.ari.port import AriUnavailable
from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core.acd import events as acd
from ivr.core.call import Phase
from ivr.core.callback_list import callback_list
from ivr.core.outcomes import Outcome
from ivr.settings import Settings
from tests.unit.fake_asterisk import FakeAsterisk, FakeChannel
from tests.unit.test_call_flow import CALL, actions, reach, run


def test_nodes_are_read_in_order_and_bad_ones_named() -> None:
    assert parse_nodes("a1=http://127.0.0.51:8088, a2=http://127.0.0.52:8088") == {
        "a1": "http://127.0.0.51:8088",
        "a2": "http://127.0.0.52:8088",
    }
    assert parse_nodes("") == {}
    for text, named in [
        ("A1=http://x:8088", "node 1"),
        ("a1=ftp://x", "node a1"),
        ("a1=http://x:1,a1=http://y:1", "twice"),
        ("a1=http://x:1,a2=http://x:1", "another node's address"),
        ("http://x:8088", "name=URL"),
    ]:
        with pytest.raises(NodesInvalid, match=named):
            parse_nodes(text)


def test_settings_refuse_an_unreadable_node_list_naming_it() -> None:
    with pytest.raises(ValueError, match="ari_nodes"):
        Settings(ari_password="x" * 20, api_token="y" * 32, ari_nodes="a-1=http://x:1")  # type: ignore[call-arg]


def test_an_id_belongs_to_the_node_its_systemname_prefix_names() -> None:
    names = ["a1", "a2"]
    assert node_of("a2-1795846476.6-t1", names) == "a2"
    assert node_of("a1-1795846476.6-bridge", names) == "a1"
    assert node_of("1795846476.6", names) is None  # the single-node form: no name
    assert node_of("b7-1795846476.6", names) is None


class Dead:
    """A node that does not answer at all."""

    app = "ivr112"

    def __getattr__(self, name: str) -> Any:
        async def unavailable(*args: Any, **kwargs: Any) -> Any:
            raise AriUnavailable(f"{name}: node down")

        return unavailable


def test_requests_go_to_the_node_holding_the_object() -> None:
    async def scenario() -> None:
        a1, a2 = FakeAsterisk(), FakeAsterisk()
        a1.add_existing(FakeChannel("a1-100.1", "PJSIP/carrier-1", "0811", state="Ring"))
        a2.add_existing(FakeChannel("a2-200.1", "PJSIP/carrier-2", "0822", state="Ring"))
        router = NodeRouter({"a1": a1, "a2": a2})
        await router.answer("a2-200.1")
        await router.create_bridge("a2-200.1-bridge", "call")
        await router.play("a1-100.1", "a1-100.1-greeting", "sound:x")
        assert ("answer", "a2-200.1") in a2.requests and not any("a2-200.1" in r for r in a1.requests)
        assert any(r[0] == "play" for r in a1.requests) and not any(r[0] == "play" for r in a2.requests)
        assert {c.id for c in await router.channels()} == {"a1-100.1", "a2-200.1"}

    asyncio.run(scenario())


def test_a_dead_node_fails_only_its_own_requests() -> None:
    async def scenario() -> None:
        a1 = FakeAsterisk()
        a1.add_existing(FakeChannel("a1-100.1", "PJSIP/carrier-1", "0811"))
        router = NodeRouter({"a1": a1, "a2": Dead()})  # type: ignore[dict-item]
        await router.set_global("IVR112_RECORD", "1")  # reaches a1 though a2 is down
        assert [c.id for c in await router.channels()] == ["a1-100.1"]  # a2 left out of the list
        with pytest.raises(AriUnavailable):
            await router.answer("a2-200.1")
        only_dead = NodeRouter({"a2": Dead()})  # type: ignore[dict-item]
        with pytest.raises(AriUnavailable):
            await only_dead.set_global("IVR112_RECORD", "1")

    asyncio.run(scenario())


def test_a_lost_nodes_caller_is_called_back_through_a_node_that_is_up() -> None:
    async def scenario() -> None:
        a2 = FakeAsterisk()
        a2.add_existing(FakeChannel("a2-200.1", "PJSIP/carrier-2", "0822"))
        router = NodeRouter({"a1": Dead(), "a2": a2})  # type: ignore[dict-item]
        router.placement.up = lambda name: name == "a2"
        dispatch = NodeRouter({"a1": Dead(), "a2": a2}, router.placement)  # type: ignore[dict-item]
        callback = "a1-100.1-cb1"  # calls back a caller of the dead a1
        await router.originate(endpoint="PJSIP/taker01", channel_id=f"{callback}-t1", app_args="taker",
                               caller_number="0811", ring_seconds=15, originator="")  # fmt: skip
        await dispatch.originate(endpoint="PJSIP/0811@carrier", channel_id=f"{callback}-out",
                               app_args="callback", caller_number="112", ring_seconds=45)  # fmt: skip
        await router.create_bridge(f"{callback}-bridge", callback)
        await dispatch.hangup(f"{callback}-t1")  # the other router knows where the call went
        placed = [r[2] for r in a2.requests if r[0] == "originate"]
        assert placed == [f"{callback}-t1", f"{callback}-out"]
        assert ("create_bridge", f"{callback}-bridge") in [r[:2] for r in a2.requests]
        assert ("hangup", f"{callback}-t1") in [r[:2] for r in a2.requests]
        assert router.owns("a2")(f"{callback}-out") and not router.owns("a1")(callback)
        # a leg joining a caller stays with the caller: a1's own calls still go to a1
        with pytest.raises(AriUnavailable):
            await router.originate(endpoint="PJSIP/taker02", channel_id="a1-100.2-t1", app_args="taker",
                                   caller_number="0812", ring_seconds=15, originator="a1-100.2")  # fmt: skip
        assert router.owns("a1")("a1-100.2-bridge")

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("phase", "released"),
    [
        (Phase.GREETING, [cmd.ToAcd(acd.CallerLeft(CALL))]),
        (Phase.WAITING, [cmd.ToAcd(acd.CallerLeft(CALL))]),
        (Phase.OFFERED, [cmd.ToAcd(acd.CallerLeft(CALL))]),
        (Phase.CONNECTED, [cmd.ToAcd(acd.CallEnded("taker02"))]),
    ],
)
def test_a_lost_node_cuts_its_calls_off_and_asks_nothing_of_it(
    phase: Phase, released: list[cmd.Command]
) -> None:
    call, commands = run(reach(phase), (300.0, ev.NodeLost(CALL, "a1")))
    assert call.outcome is Outcome.CUT_OFF
    assert actions(commands) == [*released, cmd.FinishCall(CALL, Outcome.CUT_OFF)]
    entries = [c for c in commands if isinstance(c, cmd.RecordTimeline)]
    assert entries[0].entry == "node-lost" and entries[0].detail == {"node": "a1"}
    assert entries[-1].detail["outcome"] == "cut-off"


def test_cut_off_callers_are_on_the_callback_list_with_the_reason() -> None:
    times = {"arrived_at": 100.0, "ended_at": 130.0}
    rows = [
        {"call_id": "a1-1.1", "caller": "081200001", "outcome": "cut-off", **times},
        {"call_id": "a2-1.2", "caller": "081200002", "outcome": "answered", **times},
    ]
    entries = callback_list(rows, {}, {})
    assert [e["caller"] for e in entries] == ["081200001"]
    assert entries[0]["outcome"] == "cut-off" and "node" in entries[0]["reason"]


class Stream:
    """An events stream's two flags, as NodeWatch reads them."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self.down = asyncio.Event()
        self.down.set()

    def up(self) -> None:
        self.connected.set()
        self.down.clear()

    def drop(self) -> None:
        self.connected.clear()
        self.down.set()


def test_a_node_down_past_its_grace_is_lost_once_and_a_short_drop_is_not() -> None:
    async def scenario() -> list[str]:
        lost: list[str] = []
        router = NodeRouter({"a1": FakeAsterisk(), "a2": FakeAsterisk()})
        a1, a2 = Stream(), Stream()
        watch = NodeWatch(router, {"a1": a1, "a2": a2}, lost_after=0.2)  # type: ignore[dict-item]
        tasks = [
            asyncio.create_task(watch._watch(name, stream, lambda n, _: lost.append(n)))  # type: ignore[arg-type]
            for name, stream in (("a1", a1), ("a2", a2))
        ]
        a1.up()
        a2.up()
        await asyncio.sleep(0.05)
        a2.drop()  # a short drop: back within the grace
        await asyncio.sleep(0.1)
        a2.up()
        a1.drop()  # a1 dies
        await asyncio.sleep(0.5)
        assert watch.connected() and watch.status() == {"a1": False, "a2": True}
        for task in tasks:
            task.cancel()
        return lost

    assert asyncio.run(scenario()) == ["a1"]
