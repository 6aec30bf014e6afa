"""After every ARI (re)connect: watch the call takers' phones and reconcile with Asterisk.

Rules: every call taker's endpoint is subscribed to and read (unusable: unreachable);
with several Asterisk nodes, each node is reconciled on its own (only the calls whose ids
it holds, from its own lists: a node that is away is never read as "no calls");
what Asterisk holds is compared with the centre's calls and callbacks (reconcile.py
decides); facts go to the centre, adoptions with the call's stored record (Redis away:
adopted without it), stray legs are hung up and stray bridges destroyed, each failure
logged and the rest carried on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from ivr.adapters.ari.port import Ari, AriError, AriUnavailable
from ivr.adapters.call_store import CallStore, StoreUnavailable
from ivr.adapters.log_hygiene import withheld_numbers
from ivr.core import events as ev
from ivr.core.acd import events as acd
from ivr.core.acd.model import Taker
from ivr.core.centre import Centre
from ivr.core.centre_events import Adoption, CentreEvent
from ivr.engine import reconcile

log = logging.getLogger(__name__)

Deliver = Callable[[CentreEvent], None]


async def watch_takers(ari: Ari, takers: Iterable[Taker], deliver: Deliver) -> None:
    for taker in list(takers):
        tech, _, resource = taker.endpoint.partition("/")
        try:
            await ari.subscribe(f"endpoint:{taker.endpoint}")
            endpoint = await ari.endpoint(tech, resource)
        except (AriError, AriUnavailable) as exc:
            log.error("call taker %s: endpoint %s unusable: %s", taker.taker_id, taker.endpoint, exc)
            deliver(acd.TakerReachability(taker.taker_id, False))
            continue
        deliver(acd.TakerReachability(taker.taker_id, endpoint.state != "offline"))


async def reconcile_calls(
    ari: Ari,
    store: CallStore,
    centre: Callable[[], Centre],
    screened: set[str],
    deliver: Deliver,
    mine: Callable[[str], bool] | None = None,
) -> set[str]:
    """`ari` is all of Asterisk, or one node holding the ids for which `mine` is true;
    returns the ids of the channels it held."""
    channels = await ari.channels()
    bridges = await ari.bridges()
    now = centre()
    ours = mine or (lambda _: True)
    calls = {call_id: call for call_id, call in now.calls.items() if ours(call_id)}
    callbacks = {cb_id: cb for cb_id, cb in now.callbacks.items() if ours(cb_id)}
    todo = reconcile.plan(calls, channels, bridges, ari.app, screened, set(callbacks))
    todo.post += reconcile.callback_legs_gone(callbacks, {c.id for c in channels})
    for _, event in todo.post:
        deliver(event)
    for adopted in todo.adopt:
        if adopted.withheld:
            withheld_numbers.add(adopted.caller_number)
        log.warning(
            "adopting call %s found in Asterisk (answered=%s, taker=%s)",
            adopted.call_id,
            adopted.answered,
            adopted.taker,
        )
        deliver(Adoption(adopted, await _record(store, adopted)))
    for channel_id in todo.hangup:
        log.warning("hanging up stray call-taker leg %s", channel_id)
        await hang_up_quietly(ari, channel_id)
    for bridge_id in todo.destroy_bridges:
        log.warning("destroying stray bridge %s", bridge_id)
        try:
            await ari.destroy_bridge(bridge_id)
        except (AriError, AriUnavailable) as exc:
            log.warning("could not destroy bridge %s: %s", bridge_id, exc)
    log.info(
        "reconciled: %d calls tracked, %d adopted, %d legs and %d bridges cleaned",
        len(centre().calls),
        len(todo.adopt),
        len(todo.hangup),
        len(todo.destroy_bridges),
    )
    return {c.id for c in channels}


async def _record(store: CallStore, adopted: ev.CallAdopted) -> dict[str, Any] | None:
    """The call's record, so the caller keeps its arrival and level."""
    try:
        return await store.get(adopted.call_id)
    except StoreUnavailable as exc:
        log.error("record of adopted call %s unavailable: %s", adopted.call_id, exc)
        return None


async def hang_up_quietly(ari: Ari, channel_id: str) -> None:
    try:
        await ari.hangup(channel_id)
    except (AriError, AriUnavailable) as exc:
        log.info("hang-up of %s not needed: %s", channel_id, exc)


def node_lost_events(centre: Centre, node: str, mine: Callable[[str], bool]) -> list[CentreEvent]:
    """A node declared lost: each of its calls is cut off, each of its callbacks' legs ended."""
    calls = [call_id for call_id in centre.calls if mine(call_id)]
    callbacks = {cb_id: cb for cb_id, cb in centre.callbacks.items() if mine(cb_id)}
    if calls or callbacks:
        log.error("node %s lost: %d calls cut off, %d callbacks ended", node, len(calls), len(callbacks))
    events: list[CentreEvent] = [ev.NodeLost(call_id, node) for call_id in calls]
    events += [gone for _, gone in reconcile.callback_legs_gone(callbacks, set())]
    return events
