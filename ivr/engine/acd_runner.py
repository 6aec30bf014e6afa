"""Runs the ACD for the engine: its state, its decisions carried out, its timers.

Rules: the ACD's decisions are pure and synchronous (ivr.core.acd.dispatcher), handled
inline in event order; an offer or overflow goes to the caller's call (a caller who left
between the decision and now is taken off the list at once); wrap-up ends and the next
deadline (aging, rests, ring timeouts) become loop timers, one per call taker and one tick;
every change of a call taker's declared status is saved in the order it happened
(write-behind: held while Redis is away) unless it is being restored from Redis.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ivr.adapters.agent_store import AgentStore
from ivr.adapters.call_store import StoreUnavailable
from ivr.adapters.write_behind import WriteBehind
from ivr.config.acd_policy import acd_policy, acd_roster
from ivr.config.schema import CentreConfig
from ivr.core import events as ev
from ivr.core.acd import commands as acd_cmd
from ivr.core.acd import events as acd
from ivr.core.acd.dispatcher import handle as acd_handle
from ivr.core.acd.dispatcher import next_deadline
from ivr.core.acd.model import AcdState, Declared
from ivr.core.acd.roster import build, reconfigure

log = logging.getLogger(__name__)

# (call id, event) -> whether the call is live and took it
PostToCall = Callable[[str, ev.CallEvent], bool]


class AcdRunner:
    def __init__(
        self,
        config: CentreConfig,
        agent_store: AgentStore,
        writes: WriteBehind,
        post_to_call: PostToCall,
        clock: Callable[[], float],
    ) -> None:
        self.state: AcdState = build(acd_policy(config), acd_roster(config))
        self._agent_store = agent_store
        self._writes = writes
        self._post_to_call = post_to_call
        self._clock = clock
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tick: asyncio.TimerHandle | None = None

    async def restore(self) -> None:
        """Declared statuses from Redis: who was logged in or paused before a restart."""
        try:
            saved = await self._agent_store.load(list(self.state.agents))
        except StoreUnavailable as exc:
            log.error("call-taker statuses not restored (everyone starts logged out): %s", exc)
            return
        for agent_id, record in saved.items():
            if record.get("declared") == Declared.AVAILABLE:
                self.handle(acd.AgentLoggedIn(agent_id), persist=False)
            elif record.get("declared") == Declared.PAUSED:
                self.handle(acd.AgentPaused(agent_id, record.get("reason", "")), persist=False)
        log.info("restored %d call-taker statuses", len(saved))

    def handle(self, event: acd.AcdEvent, persist: bool = True) -> None:
        now = self._clock()
        self.state, commands = acd_handle(self.state, event, now)
        for command in commands:
            self._carry_out(command, now, persist)
        self._arm_tick(now)

    def reconfigure(self, config: CentreConfig) -> int:
        """A new (validated) configuration, nobody dropped; dispatches under it at once.
        The number of call takers."""
        roster = acd_roster(config)
        self.state = reconfigure(self.state, acd_policy(config), roster)
        self.handle(acd.Tick())
        return len(roster)

    def close(self) -> None:
        for handle in [*self._timers.values(), *([self._tick] if self._tick else [])]:
            handle.cancel()

    def _carry_out(self, command: acd_cmd.AcdCommand, now: float, persist: bool) -> None:
        match command:
            case acd_cmd.Offer(call_id, agent_id, endpoint):
                self._post_or_release(call_id, ev.TakerAssigned(call_id, agent_id, endpoint))
            case acd_cmd.Overflow(call_id, target):
                self._post_or_release(call_id, ev.Overflowed(call_id, target))
            case acd_cmd.StartWrapUp(agent_id, seconds):
                self._schedule(agent_id, seconds, acd.WrapUpEnded(agent_id))
            case acd_cmd.AgentStatusChanged(agent_id, declared, reason, by_system):
                log.info(
                    "call taker %s is now %s%s%s",
                    agent_id,
                    declared.value,
                    f" ({reason})" if reason else "",
                    " by the system" if by_system else "",
                )
                if persist:
                    self._save_in_order(agent_id, declared.value, reason, now, by_system)

    def _post_or_release(self, call_id: str, event: ev.CallEvent) -> None:
        if not self._post_to_call(call_id, event):  # the caller left between the decision and now
            self.handle(acd.CallerLeft(call_id))

    def _schedule(self, key: str, seconds: float, event: acd.AcdEvent) -> None:
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        self._timers[key] = asyncio.get_running_loop().call_later(seconds, self.handle, event)

    def _arm_tick(self, now: float) -> None:
        due = next_deadline(self.state, now)
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None
        if due is not None:
            loop = asyncio.get_running_loop()
            self._tick = loop.call_later(max(0.0, due - now) + 0.001, self.handle, acd.Tick())

    def _save_in_order(self, agent_id: str, declared: str, reason: str, at: float, by_system: bool) -> None:
        """Status writes reach Redis in the order the changes happened (login, then pause, ...)."""
        self._writes.submit(
            f"status of {agent_id}",
            lambda: self._agent_store.save(agent_id, declared, reason, at, by_system),
        )
