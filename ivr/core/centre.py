"""The centre: every live call and callback, and the ACD, routed purely.

Rules:
- handle(centre, event, now) -> (centre, orders) is pure: no I/O, no clock, no randomness.
- One place routes: a call's event to its call, a callback's to its callback, the ACD's
  facts to the ACD. A call's facts for the ACD (ToAcd) are decided at once, inline; the
  ACD's answers (an offer, an overflow) reach the call after the commands it already gave
  (first in, first out). A caller gone between the ACD's decision and its delivery is
  taken off the ACD's list.
- A new caller's level: the first caller rule that matches (the level is pinned), else
  the default level. A duplicate arrival of a live call changes nothing.
- An adopted caller keeps its stored level and arrival; without a record the caller
  rules decide and its record starts now; one bridged with a phone that is no call
  taker's (the supervisor's desk) is connected with an overflow target.
- Timers (a call's or callback's, the ACD's wrap-ups and its next deadline) are Wake
  orders of one wheel; a call or callback that ended leaves at once (ForgetOwner), after
  its last commands.
- An answer for a call or callback that is over (a taker's or callee's leg) is hung up.
- The core failing on one event (a bug) changes nothing for that owner and is reported
  (Faulted); every other call in the same step goes on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TypeVar

from ivr.core import call as flow
from ivr.core import callback as callbacks
from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core import feature_codes
from ivr.core.acd import commands as acd_cmd
from ivr.core.acd import events as acd
from ivr.core.acd.dispatcher import handle as acd_handle
from ivr.core.acd.dispatcher import next_deadline
from ivr.core.acd.model import AcdPolicy, AcdState, Taker
from ivr.core.acd.roster import build, reconfigure
from ivr.core.centre_events import (
    Adoption,
    CallbackAsked,
    Carry,
    CentreEvent,
    ConfirmFeature,
    Faulted,
    FeatureDialled,
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

S = TypeVar("S", flow.Call, callbacks.Callback)
TICK = ("acd", "tick")
WRAP_UP = "wrap-up"
# Phases whose caller goes to the dialplan's native queue when the control plane stops.
HANDED_OVER_ON_STOP = frozenset(
    {flow.Phase.ANSWERING, flow.Phase.GREETING, flow.Phase.WAITING, flow.Phase.OFFERED}
)


@dataclass(frozen=True)
class Centre:
    acd: AcdState
    routing: Routing = field(default_factory=Routing)
    calls: Mapping[str, flow.Call] = field(default_factory=dict)
    callbacks: Mapping[str, callbacks.Callback] = field(default_factory=dict)  # by the callback's id
    tick_at: float | None = None  # the ACD's next deadline, as armed

    def waiting_on_stop(self) -> list[str]:
        """Calls whose caller is handed to the native queue when the control plane stops."""
        return [call_id for call_id, call in self.calls.items() if call.phase in HANDED_OVER_ON_STOP]


def open_centre(policy: AcdPolicy, roster: list[Taker], routing: Routing) -> Centre:
    return Centre(build(policy, roster), routing)


def handle(centre: Centre, event: CentreEvent, now: float) -> tuple[Centre, list[Order]]:
    step = _Step(centre, now)
    step.route(event)
    while step.posted:
        step.route(step.posted.popleft())
    return step.finish()


class _Step:
    """One handle(): the centre's parts taken apart, changed, and frozen again at the end."""

    def __init__(self, centre: Centre, now: float) -> None:
        self.now = now
        self.acd = centre.acd
        self.routing = centre.routing
        self.calls = centre.calls
        self.callbacks = centre.callbacks
        self.tick_at = centre.tick_at
        self._copied = False
        self.acd_changed = False
        self.orders: list[Order] = []
        self.posted: deque[ev.CallEvent] = deque()  # the ACD's answers, for the calls

    def finish(self) -> tuple[Centre, list[Order]]:
        if self.acd_changed:
            due = next_deadline(self.acd, self.now)
            if due != self.tick_at:
                self.tick_at = due
                tick = Wake(TICK, max(0.0, due - self.now) + 0.001, acd.Tick()) if due is not None else None
                self.orders.append(tick or Unwake(TICK))
        centre = Centre(self.acd, self.routing, self.calls, self.callbacks, self.tick_at)
        return centre, self.orders

    def route(self, event: CentreEvent) -> None:
        match event:
            case ev.CallArrived():
                self._arrive(event)
            case Adoption():
                self._adopt(event)
            case CallbackAsked():
                self._call_back(event)
            case FeatureDialled(channel_id, code, endpoint):
                change, prompt = feature_codes.decide(code, self._taker_at(endpoint))
                if change is not None:
                    self._to_acd(change)
                self.orders.append(ConfirmFeature(channel_id, endpoint, prompt))
            case PhoneReachability(endpoint, reachable):
                for taker in list(self.acd.takers.values()):
                    if taker.endpoint == endpoint and taker.reachable != reachable:
                        self._to_acd(acd.TakerReachability(taker.taker_id, reachable))
            case Reconfigured(policy, roster, routing):
                self.acd = reconfigure(self.acd, policy, list(roster))
                self.routing = routing
                self._to_acd(acd.Tick())  # dispatch under the new configuration at once
            case RoutingChanged(routing):
                self.routing = routing
            case acd.Tick():
                self.tick_at = None  # it fired: the next one is armed afresh
                self._to_acd(event)
            case _ if isinstance(event, acd.AcdEvent):
                self._to_acd(event)
            case _:
                self._to_owner(event)

    # ---- calls and callbacks -----------------------------------------------------------
    def _writable(self) -> None:
        if not self._copied:
            self.calls, self.callbacks = dict(self.calls), dict(self.callbacks)
            self._copied = True

    def _arrive(self, event: ev.CallArrived) -> None:
        if event.call_id in self.calls:
            return
        rule = self.routing.rule_for(event.caller_number)
        level = rule.level if rule else self.routing.default_level
        arrived = replace(event, level=level, pinned=rule is not None)
        self._started(*flow.start(arrived, self.now, self.routing.call))

    def _adopt(self, adoption: Adoption) -> None:
        adopted, record = adoption.call, adoption.record
        if adopted.call_id in self.calls:
            return
        level = self.routing.level_of(adopted.caller_number)
        if adopted.taker is not None and adopted.taker not in self.acd.takers:  # e.g. the supervisor's desk
            adopted = replace(adopted, taker=None, overflow_target=f"PJSIP/{adopted.taker}")
        if record is None:
            adopted = replace(adopted, level=level, recorded=False)
        else:
            arrived = _seconds(record.get("arrived_at"))
            since = arrived or adopted.arrived_at
            adopted = replace(adopted, level=str(record.get("level") or level), arrived_at=since)
        self._started(*flow.adopt(adopted, self.now, self.routing.call))

    def _started(self, call: flow.Call, commands: list[cmd.Command]) -> None:
        self._writable()
        self.calls[call.call_id] = call  # type: ignore[index]
        self._carry(call.call_id, commands)

    def _call_back(self, asked: CallbackAsked) -> None:
        taker = self.acd.takers.get(asked.taker)
        if taker is None:
            self.orders.append(Faulted(asked.taker, repr(asked), "no such call taker"))
            return
        policy = replace(self.routing.callback, record_calls=self.routing.call.record_calls)
        state, commands = callbacks.start(
            asked.called_back, asked.attempt, asked.number, asked.taker, taker.endpoint, asked.by,
            policy, self.now, asked.withheld,
        )  # fmt: skip
        self._writable()
        self.callbacks[state.call_id] = state  # type: ignore[index]
        self._carry(state.call_id, commands)

    def _to_owner(self, event: ev.CallEvent) -> None:
        owner = event.call_id
        if owner in self.calls:
            try:
                call, commands = flow.handle(self.calls[owner], event, self.now)
            except Exception as exc:  # a bug for one call must not cost the others their step
                self.orders.append(Faulted(owner, repr(event), repr(exc)))
                return
            self._writable()
            self._keep(owner, call, self.calls, commands)  # type: ignore[arg-type]
        elif owner in self.callbacks:
            try:
                callback, commands = callbacks.handle(self.callbacks[owner], event, self.now)
            except Exception as exc:
                self.orders.append(Faulted(owner, repr(event), repr(exc)))
                return
            self._writable()
            self._keep(owner, callback, self.callbacks, commands)  # type: ignore[arg-type]
        elif isinstance(event, ev.TakerAnswered | ev.CalleeAnswered):
            self.orders.append(HangupStray(event.channel_id))  # answered for a call that is over
        elif isinstance(event, ev.TakerAssigned | ev.Overflowed):
            self._to_acd(acd.CallerLeft(owner))  # the caller left before the ACD's answer arrived

    def _keep(self, owner: str, state: S, registry: dict[str, S], commands: list[cmd.Command]) -> None:
        """The new state kept (or the owner gone when it ended), then its commands."""
        ended = state.phase == flow.Phase.ENDED
        if ended:
            del registry[owner]
        else:
            registry[owner] = state
        self._carry(owner, commands)
        if ended:
            self.orders.append(ForgetOwner(owner))

    def _carry(self, owner: str, commands: list[cmd.Command]) -> None:
        for command in commands:
            match command:
                case cmd.ToAcd(event):
                    self._to_acd(event)
                case cmd.StartTimer(call_id, name, seconds):
                    self.orders.append(Wake((call_id, name), seconds, ev.TimerFired(call_id, name)))
                case cmd.CancelTimer(call_id, name):
                    self.orders.append(Unwake((call_id, name)))
                case _:
                    self.orders.append(Carry(owner, command))

    # ---- the ACD -----------------------------------------------------------------------
    def _taker_at(self, endpoint: str) -> str | None:
        return next((a.taker_id for a in self.acd.takers.values() if a.endpoint == endpoint), None)

    def _to_acd(self, event: acd.AcdEvent) -> None:
        self.acd, commands = acd_handle(self.acd, event, self.now)
        self.acd_changed = True
        for command in commands:
            match command:
                case acd_cmd.Offer(call_id, taker_id, endpoint):
                    self._post(ev.TakerAssigned(call_id, taker_id, endpoint))
                case acd_cmd.Overflow(call_id, target):
                    self._post(ev.Overflowed(call_id, target))
                case acd_cmd.StartWrapUp(taker_id, seconds):
                    self.orders.append(Wake((taker_id, WRAP_UP), seconds, acd.WrapUpEnded(taker_id)))
                case acd_cmd.TakerStatusChanged(taker_id, declared, reason, by_system):
                    self.orders.append(SaveStatus(taker_id, declared, reason, self.now, by_system))

    def _post(self, event: ev.TakerAssigned | ev.Overflowed) -> None:
        if event.call_id in self.calls:
            self.posted.append(event)
        else:  # the caller left between the decision and now
            self._to_acd(acd.CallerLeft(event.call_id))


def _seconds(value: object) -> float | None:
    """A stored time, or None when it is missing or not a number."""
    try:
        return float(value) if isinstance(value, str | int | float) and value != "" else None
    except ValueError:
        return None
