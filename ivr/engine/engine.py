"""The engine: routes ARI events to call tasks and the ACD, runs timers, reconciles.

Rules: one CallTask per call, created on CallArrived or adoption and forgotten when the
core finishes the call. ACD decisions are pure and synchronous (handled inline, in
event order, by acd_runner.py); its offers and overflows are posted to the calls. The
event path never waits on Asterisk. After every ARI (re)connect the engine subscribes
to the call takers' endpoints, reads their reachability and reconciles its calls with
the channels and bridges Asterisk holds. On a deliberate stop, callers not yet
connected are handed to the dialplan's native queue; connected calls stay up for the
next start to adopt. A withheld caller's number is registered with the log's masking
(ivr.adapters.log_hygiene) when its call arrives or a callback to it starts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from ivr.adapters.agent_store import AgentStore
from ivr.adapters.archive import Archive
from ivr.adapters.ari import models as ari
from ivr.adapters.ari.rest import AriError, AriRest, AriUnavailable
from ivr.adapters.ari.stasis_waiter import StasisWaiter
from ivr.adapters.ari.translate import (
    CallerTalking,
    EndpointReachability,
    FeatureCode,
    FeaturePromptDone,
    HelperChannelReady,
    translate,
)
from ivr.adapters.call_store import CallStore, StoreUnavailable
from ivr.adapters.log_hygiene import withheld_numbers
from ivr.adapters.recorder import Recorder
from ivr.adapters.speech.screener import Screener
from ivr.adapters.write_behind import WriteBehind
from ivr.config.schema import CentreConfig
from ivr.core import call as flow
from ivr.core import callback as callbacks
from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core import privacy
from ivr.core.acd import events as acd
from ivr.core.acd.events import AcdEvent
from ivr.core.acd.model import AcdState
from ivr.engine import reconcile
from ivr.engine.acd_runner import AcdRunner
from ivr.engine.agency_contacts import AgencyContacts
from ivr.engine.call_task import CallTask
from ivr.engine.executor import Executor
from ivr.engine.feature_codes import FeatureCodes
from ivr.engine.metrics import Metrics
from ivr.engine.phones import Phones

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
        agent_store: AgentStore,
        config: CentreConfig,
        policy: flow.CallPolicy,
        clock: Callable[[], float] = time.time,
        dispatch_rest: AriRest | None = None,
    ) -> None:
        self._ari = ari_rest
        self._store = store
        self.config = config
        self._policy = policy
        self._clock = clock
        self.writes = WriteBehind()  # records and statuses, in order, held while Redis is away
        self._executor = Executor(ari_rest, store, self, self.writes, dispatch=dispatch_rest)
        self.calls: dict[str, CallTask[flow.Call]] = {}
        self.callbacks: dict[str, CallTask[callbacks.Callback]] = {}  # by the callback's id
        self.callback_policy = callbacks.CallbackPolicy()
        self._acd = AcdRunner(config, agent_store, self.writes, self._post_to_call, clock)
        self._background: set[asyncio.Task[None]] = set()
        self.features = FeatureCodes(ari_rest, self)
        self.screener: Screener | None = None
        self.recorder: Recorder | None = None
        self.waiter = StasisWaiter()  # our helper channels' StasisStart
        self.metrics = Metrics()
        self.archive: Archive | None = None
        self.phones = Phones(clock)  # PJSIP contact status per endpoint (AMI)
        # Alarm on a changed contact of the agency phones that register (the app says which).
        self.agency_contacts = AgencyContacts((), clock)
        # Whether the ARI events WebSocket is up right now (the app links it to its stream).
        self.ari_connected: Callable[[], bool] = lambda: False

    # ---- start and the ACD ----------------------------------------------------------
    async def restore_agents(self) -> None:
        """Declared statuses from Redis: who was logged in or paused before a restart."""
        await self._acd.restore()

    @property
    def acd(self) -> AcdState:
        return self._acd.state

    def to_acd(self, event: AcdEvent, persist: bool = True) -> None:
        self._acd.handle(event, persist)

    def _post_to_call(self, call_id: str, event: ev.CallEvent) -> bool:
        task = self.calls.get(call_id)
        if task is not None:
            task.post(event)
        return task is not None

    def _spawn(self, job: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Work that outlives the moment it was asked for; stop() waits for it."""
        task = asyncio.create_task(job)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def reload(self, config: CentreConfig) -> None:
        """Apply a new (already validated) configuration without dropping anyone."""
        self.config = config
        takers = self._acd.reconfigure(config)
        log.info("configuration applied: %d call takers, %d priorities", takers, len(config.priorities))

    @property
    def ari_rest(self) -> AriRest:
        """For the API's reads (recordings)."""
        return self._ari

    def use_screener(self, screener: Screener) -> None:
        self.screener = screener
        self._executor.screener = screener

    def use_recorder(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self._executor.recorder = recorder

    def set_policy(self, policy: flow.CallPolicy) -> None:
        """Timers and prompts for calls that arrive from now on."""
        self._policy = policy

    def phone_status(
        self, endpoint: str, status: str, rtt_ms: float | None, uri: str = "", listed: bool = False
    ) -> None:
        """A phone as PJSIP reports it (AMI): shown, an unreachable call taker is not offered,
        an agency phone whose contact changes raises an alarm."""
        self.agency_contacts.seen(endpoint, status, uri, listed)
        reachable = self.phones.seen(endpoint, status, rtt_ms)
        for agent in list(self.acd.agents.values()):
            if reachable is not None and agent.endpoint == endpoint and agent.reachable != reachable:
                self.to_acd(acd.AgentReachability(agent.agent_id, reachable))

    def phone_listing_done(self) -> None:
        """AMI's listing of every contact (read at each login) is complete."""
        self.agency_contacts.listing_done()

    async def rewatch_agents(self) -> None:
        """After the call-taker list changed: subscribe to and read every taker's endpoint."""
        await self._watch_agents()

    def agent_of_endpoint(self, endpoint: str) -> str | None:
        return next((a.agent_id for a in self.acd.agents.values() if a.endpoint == endpoint), None)

    # ---- callbacks ---------------------------------------------------------------------
    def start_callback(
        self, called_back: str, attempt: int, number: str, agent_id: str, by: str, withheld: bool = False
    ) -> str:
        """Calls an abandoned caller back with this call taker (checked free by the caller);
        a withheld number stays withheld in the callback's record, caller ID and logs."""
        if withheld:
            withheld_numbers.add(number)
        state, first = callbacks.start(
            called_back,
            attempt,
            number,
            agent_id,
            self.acd.agents[agent_id].endpoint,
            by,
            replace(self.callback_policy, record_calls=self._policy.record_calls),
            self._clock(),
            withheld,
        )
        task = CallTask(state, self._executor.execute, self._clock, callbacks.handle)
        self.callbacks[state.call_id] = task
        shown = privacy.shown(number, withheld)
        log.info("callback %s: calling %s back with %s (asked by %s)", state.call_id, shown, agent_id, by)
        task.task = asyncio.create_task(
            self._run(task, first, self.callbacks), name=f"callback-{state.call_id}"
        )
        return state.call_id

    # ---- EngineLink (used by the executor) -------------------------------------------
    def post(self, call_id: str, event: ev.CallEvent) -> None:
        task = self.calls.get(call_id) or self.callbacks.get(call_id)
        if task is not None:
            task.post(event)

    def finished(self, call_id: str, outcome: str) -> None:
        log.info("call %s ended: %s", call_id, outcome)
        if self.screener is not None:
            self.screener.call_ended(call_id)
        self._spawn(self._after_call(call_id))

    async def _after_call(self, call_id: str) -> None:
        """Count the finished call and archive its record (the 'ended' entry is stored by now)."""
        record = await self._finished_record(call_id)
        if record is not None:
            self.metrics.call_finished(record)
            if self.archive is not None:
                await self.archive.put(record)
            called_back = record.get("callback_of")
            if called_back:  # the abandoned call's timeline has the attempt and its result
                await self.archive_again(called_back)

    async def _finished_record(self, call_id: str) -> dict[str, Any] | None:
        await self.writes.settled()  # its own entries first (held while Redis is away)
        try:
            record = await self._store.get(call_id)
        except StoreUnavailable as exc:
            log.error("call %s not archived (records unavailable): %s", call_id, exc)
            return None
        return None if record is None else {"call_id": call_id, **record}

    async def archive_again(self, call_id: str) -> None:
        """A finished call's record changed (a disposition): its archive row follows."""
        if self.archive is not None and call_id not in self.calls:
            record = await self._finished_record(call_id)
            if record is not None and record.get("outcome"):
                await self.archive.put(record)

    # ---- ARI side --------------------------------------------------------------------
    async def on_event(self, event: ari.AnyEvent) -> None:
        """Routes one ARI event; never waits on Asterisk (a slow reply would hold every
        call's events): requests to Asterisk go to the call's task or the background."""
        for item in translate(event):
            match item:
                case ev.CallArrived(call_id=call_id) if call_id not in self.calls:
                    if item.withheld:  # masked in every log line from now on
                        withheld_numbers.add(item.caller_number)
                    rule = self.config.caller_rule(item.caller_number)
                    level = rule.priority if rule else self.config.default_priority
                    arrived = replace(item, level=level, pinned=rule is not None)
                    self._start(*flow.start(arrived, self._clock(), self._policy))
                case EndpointReachability(endpoint, reachable):
                    for agent in self.acd.agents.values():
                        if agent.endpoint == endpoint and agent.reachable != reachable:
                            self.to_acd(acd.AgentReachability(agent.agent_id, reachable))
                case FeatureCode():  # decided at once; the confirmation prompt off the event path
                    self._spawn(self.features.confirm(item, self.features.dialled(item)))
                case FeaturePromptDone(channel_id):
                    self._spawn(self.features.done(channel_id))
                case HelperChannelReady(channel_id):
                    self.waiter.ready(channel_id)
                case CallerTalking(call_id, seconds):
                    if self.screener is not None and call_id in self.calls:
                        self.screener.talking(call_id, seconds)
                case ev.TakerAnswered(call_id=call_id) | ev.CalleeAnswered(call_id=call_id) if (
                    call_id not in self.calls and call_id not in self.callbacks
                ):
                    self._spawn(self._hangup_quietly(item.channel_id))  # answered for a call that is over
                case _ if hasattr(item, "call_id") and item.call_id in self.calls:
                    self.calls[item.call_id].post(item)
                case _ if hasattr(item, "call_id") and item.call_id in self.callbacks:
                    self.callbacks[item.call_id].post(item)

    async def on_connected(self) -> None:
        await self._watch_agents()
        channels = await self._ari.channels()
        bridges = await self._ari.bridges()
        known = {call_id: task.state for call_id, task in self.calls.items()}
        screened = set(self.screener.sessions) if self.screener else set()
        todo = reconcile.plan(known, channels, bridges, self._ari.app, screened, set(self.callbacks))
        states = {callback_id: task.state for callback_id, task in self.callbacks.items()}
        todo.post += reconcile.callback_legs_gone(states, {c.id for c in channels})
        for call_id, event in todo.post:
            self.post(call_id, event)
        for adopted in todo.adopt:
            if adopted.withheld:
                withheld_numbers.add(adopted.caller_number)
            adopted = await self._with_record(adopted)
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

    async def _with_record(self, adopted: ev.CallAdopted) -> ev.CallAdopted:
        """Arrival and level from the call's record, so the caller keeps its place."""
        try:
            record = await self._store.get(adopted.call_id)
        except StoreUnavailable as exc:
            log.error("record of adopted call %s unavailable: %s", adopted.call_id, exc)
            record = None
        level = self.config.priority_of(adopted.caller_number)
        if adopted.taker is not None and adopted.taker not in self.acd.agents:  # e.g. the supervisor's desk
            adopted = replace(adopted, taker=None, overflow_target=f"PJSIP/{adopted.taker}")
        if record is None:
            return replace(adopted, level=level, recorded=False)
        arrived = float(record["arrived_at"]) if "arrived_at" in record else None
        return replace(adopted, level=record.get("level", level), arrived_at=arrived or adopted.arrived_at)

    async def _watch_agents(self) -> None:
        for agent in list(self.acd.agents.values()):
            tech, _, resource = agent.endpoint.partition("/")
            try:
                await self._ari.subscribe(f"endpoint:{agent.endpoint}")
                endpoint = await self._ari.endpoint(tech, resource)
            except AriError as exc:
                log.error("call taker %s: endpoint %s unusable: %s", agent.agent_id, agent.endpoint, exc)
                self.to_acd(acd.AgentReachability(agent.agent_id, False))
                continue
            self.to_acd(acd.AgentReachability(agent.agent_id, endpoint.state != "offline"))

    async def _hangup_quietly(self, channel_id: str) -> None:
        try:
            await self._ari.hangup(channel_id)
        except (AriError, AriUnavailable) as exc:
            log.info("hang-up of %s not needed: %s", channel_id, exc)

    # ---- call tasks ------------------------------------------------------------------
    def _start(self, state: flow.Call, first: list[cmd.Command]) -> None:
        task = CallTask(state, self._executor.execute, self._clock)
        self.calls[state.call_id] = task
        task.task = asyncio.create_task(self._run(task, first, self.calls), name=f"call-{state.call_id}")

    @staticmethod
    async def _run(task: CallTask[Any], first: list[cmd.Command], registry: dict[str, Any]) -> None:
        try:
            await task.run(first)
        finally:
            registry.pop(task.call_id, None)

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Hand callers not yet connected to the native queue; leave connected calls be."""
        waiting = [t for t in self.calls.values() if t.state.phase in HANDED_OVER_ON_STOP]
        for task in waiting:
            task.post(ev.ShutdownRequested(task.call_id))
        handed = [t.task for t in waiting if t.task is not None]
        if handed:
            await asyncio.wait(handed, timeout=grace_seconds)
        tasks: list[CallTask[Any]] = [*self.calls.values(), *self.callbacks.values()]
        rest = [t.task for t in tasks if t.task is not None]
        for running in rest:
            running.cancel()
        await asyncio.gather(*rest, return_exceptions=True)
        await self.writes.close()  # a short wait for what Redis has not taken yet
        if self._background:  # archiving waits for Redis: not forever at a stop
            _, late = await asyncio.wait(self._background, timeout=2.0)
            for job in late:
                job.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        self._acd.close()
        if self.screener is not None:
            await self.screener.close()
