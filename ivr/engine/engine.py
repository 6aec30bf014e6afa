"""The engine: a thin pump between Asterisk, the centre (ivr.core.centre) and the adapters.

Rules: every event (ARI's, a timer's, the API's, a command's result) is delivered to the
centre one at a time, in the order delivered, and the centre's orders are carried out
without waiting: a call's commands go to its lane (lanes.py, in the core's order),
timers to the one wheel (timer_wheel.py), status saves and records behind (write-behind:
held while Redis is away). The event path never waits on Asterisk. After every ARI
(re)connect the engine watches the call takers' phones and reconciles with Asterisk
(reconnect.py), then closes the records its callers left open unseen (unattended_records.py).
On a deliberate stop, callers not yet connected are handed to the
dialplan's native queue; connected calls stay up for the next start to adopt. A withheld
caller's number is registered with the log's masking (ivr.adapters.log_hygiene) before
its first event is handled; lines logged while a call's event is handled name it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import replace
from typing import Any

from ivr.adapters.ari.models import AnyEvent
from ivr.adapters.ari.port import Ari
from ivr.adapters.ari.stasis_waiter import StasisWaiter
from ivr.adapters.ari.translate import (
    CallerTalking,
    FeaturePromptDone,
    HelperChannelReady,
    translate,
)
from ivr.adapters.call_store import CallStore
from ivr.adapters.log_call import mark_call, unmark_call
from ivr.adapters.log_hygiene import withheld_numbers
from ivr.adapters.taker_store import TakerStore
from ivr.adapters.write_behind import WriteBehind
from ivr.config.acd_policy import acd_policy, acd_roster, caller_rules
from ivr.config.schema import CentreConfig
from ivr.core import centre as core
from ivr.core import events as ev
from ivr.core.acd.events import AcdEvent
from ivr.core.acd.model import AcdState
from ivr.core.call_state import Call, CallPolicy
from ivr.core.callback import Callback, CallbackPolicy
from ivr.core.centre_events import (
    Carry,
    CentreEvent,
    ConfirmFeature,
    Faulted,
    ForgetOwner,
    HangupStray,
    Order,
    PhoneReachability,
    Reconfigured,
    RoutingChanged,
    SaveStatus,
    Unwake,
    Wake,
)
from ivr.core.routing import Routing
from ivr.engine.after_call import AfterCall
from ivr.engine.agency_contacts import AgencyContacts
from ivr.engine.executor import Executor
from ivr.engine.feature_codes import FeatureCodes
from ivr.engine.lanes import Lanes
from ivr.engine.metrics import Histogram, Metrics, answer_buckets
from ivr.engine.parts import Parts
from ivr.engine.phones import Phones
from ivr.engine.reconnect import hang_up_quietly, node_lost_events, reconcile_calls, watch_takers
from ivr.engine.secure_answers import SecureAnswers
from ivr.engine.statuses import Statuses
from ivr.engine.timer_wheel import TimerWheel
from ivr.engine.unattended_records import UnattendedRecords, tracked_ids

log = logging.getLogger(__name__)


class Engine:
    def __init__(
        self,
        ari_client: Ari,
        store: CallStore,
        taker_store: TakerStore,
        config: CentreConfig,
        policy: CallPolicy,
        clock: Callable[[], float] = time.time,
        parts: Parts | None = None,
    ) -> None:
        parts = parts or Parts()
        self._ari = ari_client
        self._store = store
        self.config = config
        self._clock = clock
        self.writes = WriteBehind()  # records and statuses, in order, held while Redis is away
        self._statuses = Statuses(taker_store, self.writes)
        routing = Routing(caller_rules(config), config.default_priority, policy, parts.callback_policy)
        self.centre = core.open_centre(acd_policy(config), acd_roster(config), routing)
        self._pending: deque[tuple[CentreEvent, bool]] = deque()
        self._delivering = False
        self._timers = TimerWheel(self.deliver)
        self._background: set[asyncio.Task[None]] = set()
        self.waiter = StasisWaiter()  # our helper channels' StasisStart
        self.screener = parts.screener(self.post, self.waiter) if parts.screener else None
        self.recorder = parts.recorder(self.waiter) if parts.recorder else None
        self.archive = parts.archive
        tiers = tuple(t.answer_within_seconds for t in config.service_level.tiers)
        self.metrics = Metrics(answer_seconds=Histogram(answer_buckets(tiers)))
        self._after = AfterCall(store, self.writes, self.metrics, self.archive, lambda: self.centre.calls)
        self.feed = parts.feed  # each timeline entry recorded is offered to it (executor.py)
        executor = Executor(
            ari_client, store, self, self.writes, self.screener, parts.dispatch, self.recorder, self.feed
        )
        self._lanes = Lanes(executor.execute)
        self.features = FeatureCodes(ari_client)
        self._answers = SecureAnswers(ari_client, self, self._spawn)  # SRTP checked, when required
        self.phones = Phones(clock)  # PJSIP contact status per endpoint (AMI)
        # Alarm on a changed contact of the agency phones that register (the app says which).
        self.agency_contacts = AgencyContacts((), clock)
        self.ari_connected = parts.ari_connected
        self.unattended = UnattendedRecords(
            store, lambda: self.centre, self.finished, clock, self.writes.settled, note=self.feed.note
        )

    # ---- the pump ----------------------------------------------------------------------
    def deliver(self, event: CentreEvent, persist: bool = True) -> None:
        """To the centre, one event at a time in the order delivered (an event delivered
        while one is being handled waits its turn); `persist` False: statuses restored."""
        self._pending.append((event, persist))
        if self._delivering:
            return
        self._delivering = True
        outside = mark_call(None)
        try:
            while self._pending:
                event, persist = self._pending.popleft()
                mark_call(getattr(event, "call_id", None))  # what its log lines are about
                try:
                    self.centre, orders = core.handle(self.centre, event, self._clock())
                except Exception:  # a fault of ours: that event is lost, never the others
                    log.exception("the centre failed on %r; event ignored", event)
                    continue
                for order in orders:
                    self._carry_out(order, persist)
        finally:
            self._delivering = False
            unmark_call(outside)

    def _carry_out(self, order: Order, persist: bool) -> None:
        match order:
            case Carry(owner, command):
                self._lanes.put(owner, command)
            case Wake(key, seconds, event):
                self._timers.set(key, seconds, event)
            case Unwake(key):
                self._timers.cancel(key)
            case ForgetOwner(owner):
                self._timers.drop(owner)
                self._lanes.close(owner)
            case SaveStatus():
                self._statuses.changed(order, persist)
            case HangupStray(channel_id):
                self._spawn(hang_up_quietly(self._ari, channel_id))
            case ConfirmFeature():
                self._spawn(self.features.confirm(order))
            case Faulted(owner, event, error):
                log.error("%s: the core failed on %s (%s); event ignored", owner, event, error)

    def _spawn(self, job: Coroutine[Any, Any, None]) -> None:
        """Work that outlives the moment it was asked for; stop() waits for it."""
        task = asyncio.create_task(job)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ---- what the centre holds, and what others tell it --------------------------------
    @property
    def acd(self) -> AcdState:
        return self.centre.acd

    @property
    def calls(self) -> Mapping[str, Call]:
        return self.centre.calls

    @property
    def callbacks(self) -> Mapping[str, Callback]:
        return self.centre.callbacks

    @property
    def ari(self) -> Ari:
        """For the API's reads (recordings)."""
        return self._ari

    def post(self, call_id: str, event: ev.CallEvent) -> None:
        self.deliver(event)

    def to_acd(self, event: AcdEvent, persist: bool = True) -> None:
        self.deliver(event, persist)

    async def restore_takers(self) -> None:
        """Declared statuses from Redis: who was logged in or paused before a restart."""
        await self._statuses.restore(self.acd.takers, lambda event: self.deliver(event, persist=False))

    def reload(self, config: CentreConfig) -> None:
        """Apply a new (already validated) configuration without dropping anyone."""
        self.config = config
        routing = replace(
            self.centre.routing, caller_rules=caller_rules(config), default_level=config.default_priority
        )
        self.deliver(Reconfigured(acd_policy(config), tuple(acd_roster(config)), routing))
        log.info(
            "configuration applied: %d call takers, %d priorities", len(config.takers), len(config.priorities)
        )

    def set_policy(self, policy: CallPolicy, callback_policy: CallbackPolicy | None = None) -> None:
        """Timers and prompts for calls (and callbacks) that start from now on."""
        routing = self.centre.routing
        self.deliver(
            RoutingChanged(replace(routing, call=policy, callback=callback_policy or routing.callback))
        )

    def phone_status(
        self, endpoint: str, status: str, rtt_ms: float | None, uri: str = "", listed: bool = False
    ) -> None:
        """A phone as PJSIP reports it (AMI): shown, an unreachable call taker is not offered,
        an agency phone whose contact changes raises an alarm."""
        self.agency_contacts.seen(endpoint, status, uri, listed)
        reachable = self.phones.seen(endpoint, status, rtt_ms, uri)
        if reachable is not None:
            self.deliver(PhoneReachability(endpoint, reachable))

    def phone_listing_done(self) -> None:
        """AMI's listing of every contact (read at each login) is complete."""
        self.agency_contacts.listing_done()

    # ---- a call's end (EngineLink, for the executor) ------------------------------------
    def finished(self, call_id: str, outcome: str) -> None:
        log.info("call %s ended: %s", call_id, outcome)
        if self.screener is not None:
            self.screener.call_ended(call_id)
        self._spawn(self._after.archive(call_id))

    async def archive_again(self, call_id: str) -> None:
        """A finished call's record changed (a disposition): its archive row follows."""
        await self._after.archive_again(call_id)

    # ---- ARI side ----------------------------------------------------------------------
    async def on_event(self, event: AnyEvent) -> None:
        """Routes one ARI event; never waits on Asterisk (a slow reply would hold every
        call's events): requests to Asterisk go to a call's lane or the background."""
        for item in translate(event):
            match item:
                case FeaturePromptDone(channel_id):
                    self._spawn(self.features.done(channel_id))
                case HelperChannelReady(channel_id):
                    self.waiter.ready(channel_id)
                case CallerTalking(call_id, seconds):
                    if self.screener is not None and call_id in self.centre.calls:
                        self.screener.talking(call_id, seconds)
                case _:
                    if isinstance(item, ev.CallArrived) and item.withheld:  # masked from now on
                        withheld_numbers.add(item.caller_number)
                    self._answers.deliver(item)

    async def on_connected(self, node: Ari | None = None, mine: Callable[[str], bool] | None = None) -> None:
        ari = node or self._ari  # all of Asterisk, or one node of several (the ids it holds: mine)
        await watch_takers(ari, self.acd.takers.values(), self.deliver)
        screened = set(self.screener.sessions) if self.screener else set()
        listed_at, tracked = self._clock(), tracked_ids(self.centre)
        present = await reconcile_calls(ari, self._store, lambda: self.centre, screened, self.deliver, mine)
        self._spawn(self.unattended.after_listing(listed_at, present, tracked, mine))

    def node_lost(self, node: str, mine: Callable[[str], bool]) -> None:
        """A node stayed unreachable past its grace time: its calls and callbacks went with it."""
        self._spawn(self.unattended.node_lost(node, mine, tracked_ids(self.centre)))
        for event in node_lost_events(self.centre, node, mine):
            self.deliver(event)

    async def rewatch_takers(self) -> None:
        """After the call-taker list changed: subscribe to and read every taker's endpoint."""
        await watch_takers(self._ari, self.acd.takers.values(), self.deliver)

    # ---- stopping ----------------------------------------------------------------------
    async def stop(self, grace_seconds: float = 5.0, writes_seconds: float = 3.0) -> None:
        """Hand callers not yet connected to the native queue (within grace_seconds); leave
        connected calls be; wait up to writes_seconds for records Redis has not taken."""
        waiting = self.centre.waiting_on_stop()
        for call_id in waiting:
            self.deliver(ev.ShutdownRequested(call_id))
        await self._lanes.stop(waiting, grace_seconds)
        self._timers.close()
        await self.writes.close(writes_seconds)
        if self._background:  # archiving waits for Redis: not forever at a stop
            _, late = await asyncio.wait(self._background, timeout=2.0)
            for job in late:
                job.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self.screener is not None:
            await self.screener.close()
