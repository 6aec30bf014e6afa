"""The engine: routes ARI events to call tasks and the dispatcher, and reconciles.

Rules: one CallTask per call, created on CallArrived or adoption and forgotten when
the core finishes the call; dispatcher decisions are pure and synchronous, their
assignments posted to the calls; after every ARI (re)connect the engine subscribes to
the call takers' endpoints, reads their reachability and reconciles its calls with the
channels and bridges Asterisk holds. On a deliberate stop, callers not yet connected are handed
to the dialplan's native queue; connected calls stay up for the next start to adopt.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from ivr.adapters.ari import models as ari
from ivr.adapters.ari.rest import AriError, AriRest, AriUnavailable
from ivr.adapters.ari.translate import translate
from ivr.adapters.call_store import CallStore
from ivr.core import call as flow
from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core import roundrobin as rr
from ivr.engine import reconcile
from ivr.engine.call_task import CallTask
from ivr.engine.executor import Executor

log = logging.getLogger(__name__)

# Phases whose caller goes to the dialplan's native queue when the control plane stops.
HANDED_OVER_ON_STOP = frozenset(
    {flow.Phase.ANSWERING, flow.Phase.GREETING, flow.Phase.WAITING, flow.Phase.OFFERED}
)


class Engine:
    def __init__(
        self,
        ari_rest: AriRest,
        store: CallStore,
        takers: list[str],
        policy: flow.CallPolicy,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ari = ari_rest
        self._policy = policy
        self._clock = clock
        self._executor = Executor(ari_rest, store, self)
        self.calls: dict[str, CallTask] = {}
        self.roster = rr.Roster(tuple(takers))
        self.outcomes: dict[str, int] = {}

    # ---- EngineLink (used by the executor) -------------------------------------
    def post(self, call_id: str, event: ev.CallEvent) -> None:
        task = self.calls.get(call_id)
        if task is not None:
            task.post(event)

    def dispatch(self, event: rr.DispatchEvent) -> None:
        self.roster, assignments = rr.dispatch(self.roster, event)
        for call_id, taker in assignments:
            if call_id in self.calls:
                self.post(call_id, ev.TakerAssigned(call_id, taker))
            else:  # the caller left between the request and the decision
                self.dispatch(rr.TakerFree(taker))

    def finished(self, call_id: str, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        log.info("call %s ended: %s", call_id, outcome)

    # ---- ARI side ----------------------------------------------------------------
    async def on_event(self, event: ari.AnyEvent) -> None:
        for item in translate(event):
            if isinstance(item, ev.CallArrived):
                if item.call_id not in self.calls:
                    self._start(*flow.start(item, self._clock(), self._policy))
            elif isinstance(item, rr.TakerReachability):
                self.dispatch(item)
            elif item.call_id in self.calls:
                self.calls[item.call_id].post(item)
            elif isinstance(item, ev.TakerAnswered):
                await self._hangup_quietly(item.channel_id)  # answered for a call that is over

    async def on_connected(self) -> None:
        await self._watch_takers()
        channels = await self._ari.channels()
        bridges = await self._ari.bridges()
        known = {call_id: task.state for call_id, task in self.calls.items()}
        todo = reconcile.plan(known, channels, bridges, self._ari.app)
        for call_id, event in todo.post:
            self.post(call_id, event)
        for adopted in todo.adopt:
            log.warning(
                "adopting call %s found in Asterisk (answered=%s, taker=%s)",
                adopted.call_id,
                adopted.answered,
                adopted.taker,
            )
            self._start(*flow.adopt(adopted, self._clock(), self._policy))
        for channel_id in todo.hangup:
            log.warning("hanging up stray call-taker leg %s", channel_id)
            await self._hangup_quietly(channel_id)
        for bridge_id in todo.destroy_bridges:
            log.warning("destroying stray bridge %s", bridge_id)
            try:
                await self._ari.destroy_bridge(bridge_id)
            except (AriError, AriUnavailable) as exc:
                log.warning("could not destroy bridge %s: %s", bridge_id, exc)
        log.info(
            "reconciled: %d calls tracked, %d adopted, %d legs and %d bridges cleaned",
            len(self.calls),
            len(todo.adopt),
            len(todo.hangup),
            len(todo.destroy_bridges),
        )

    async def _watch_takers(self) -> None:
        for taker in self.roster.takers:
            try:
                await self._ari.subscribe(f"endpoint:PJSIP/{taker}")
                endpoint = await self._ari.endpoint("PJSIP", taker)
            except AriError as exc:
                log.error("call taker %s has no usable PJSIP endpoint: %s", taker, exc)
                self.dispatch(rr.TakerReachability(taker, False))
                continue
            self.dispatch(rr.TakerReachability(taker, endpoint.state != "offline"))

    async def _hangup_quietly(self, channel_id: str) -> None:
        try:
            await self._ari.hangup(channel_id)
        except (AriError, AriUnavailable) as exc:
            log.info("hang-up of %s not needed: %s", channel_id, exc)

    # ---- call tasks ----------------------------------------------------------------
    def _start(self, state: flow.Call, first: list[cmd.Command]) -> None:
        task = CallTask(state, self._executor.execute, self._clock)
        self.calls[state.call_id] = task
        task.task = asyncio.create_task(self._run(task, first), name=f"call-{state.call_id}")

    async def _run(self, task: CallTask, first: list[cmd.Command]) -> None:
        try:
            await task.run(first)
        finally:
            self.calls.pop(task.call_id, None)

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Hand callers not yet connected to the native queue; leave connected calls be."""
        waiting = [t for t in self.calls.values() if t.state.phase in HANDED_OVER_ON_STOP]
        for task in waiting:
            task.post(ev.ShutdownRequested(task.call_id))
        handed = [t.task for t in waiting if t.task is not None]
        if handed:
            await asyncio.wait(handed, timeout=grace_seconds)
        rest = [t.task for t in self.calls.values() if t.task is not None]
        for running in rest:
            running.cancel()
        await asyncio.gather(*rest, return_exceptions=True)
