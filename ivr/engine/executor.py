"""Carries out a call's (or callback's) commands with the adapters, in its lane (lanes.py).

Rules: one small method per command type, looked up by type (no call-handling ifs);
ARI failures (and, logged with their traceback, any unexpected fault of a command)
become CommandFailed events for the call, except hang-ups and bridge
teardown of things already gone (404), which are done; records are written behind
(write_behind.py): Redis being slow or away never holds up the call. Each timeline entry,
once submitted, is offered to the event feed for other systems (ivr/adapters/event_feed.py),
which never waits. Timers and the ACD are not commands here: the centre turns them into
its own orders.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from ivr.adapters.ari.port import Ari, AriError, AriUnavailable
from ivr.adapters.ari.translate import AGENCY_ARG, CALLBACK_ARG, TAKER_ARG
from ivr.adapters.call_store import CallStore, TimelineEntry
from ivr.adapters.event_feed import EventFeed
from ivr.adapters.recorder import Recorder, RecordingUnavailable
from ivr.adapters.speech.screener import Screener, ScreeningUnavailable
from ivr.adapters.write_behind import WriteBehind
from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core.outcomes import Outcome

log = logging.getLogger(__name__)


class EngineLink(Protocol):
    def post(self, call_id: str, event: ev.CallEvent) -> None: ...
    def finished(self, call_id: str, outcome: str) -> None: ...


class Executor:
    def __init__(
        self,
        ari: Ari,
        store: CallStore,
        engine: EngineLink,
        writes: WriteBehind,
        screener: Screener | None = None,
        dispatch: Ari | None = None,
        recorder: Recorder | None = None,
        feed: EventFeed | None = None,
    ) -> None:
        self._ari = ari
        # Requests that put a caller through (answer, offers, bridges, hand-over, hang-ups)
        # have their own connections: under a surge they never wait behind prompts and
        # screening's channels for one.
        self._dispatch = dispatch or ari
        self._store = store
        self._writes = writes
        self._engine = engine
        self.screener = screener
        self.recorder = recorder
        self._feed = feed
        self._handlers: dict[type, Callable[[str, Any], Awaitable[None]]] = {
            cmd.Answer: self._answer,
            cmd.PlayPrompt: self._play,
            cmd.StopPrompt: self._stop_prompt,
            cmd.OfferToTaker: self._offer,
            cmd.DialOut: self._dial_out,
            cmd.ConnectParties: self._connect,
            cmd.ContinueInDialplan: self._continue,
            cmd.Hangup: self._hangup,
            cmd.DestroyBridge: self._destroy_bridge,
            cmd.CallAgency: self._call_agency,
            cmd.AddToBridge: self._add_to_bridge,
            cmd.StartRecording: self._start_recording,
            cmd.StartScreening: self._start_screening,
            cmd.ReportScreening: self._report_screening,
            cmd.StopScreening: self._stop_screening,
            cmd.RecordScreening: self._record_screening,
            cmd.RecordTimeline: self._record,
            cmd.FinishCall: self._finish,
        }

    async def execute(self, call_id: str, command: cmd.Command) -> None:
        try:
            await self._handlers[type(command)](call_id, command)
        except (AriError, AriUnavailable) as exc:
            log.warning("call %s: %s failed: %s", call_id, type(command).__name__, exc)
            self._engine.post(call_id, ev.CommandFailed(call_id, type(command).__name__, str(exc)))
        except Exception as exc:  # a fault of ours must not end the call's task: the flow decides
            log.exception("call %s: %s failed unexpectedly", call_id, type(command).__name__)
            self._engine.post(call_id, ev.CommandFailed(call_id, type(command).__name__, repr(exc)))

    async def _answer(self, call_id: str, c: cmd.Answer) -> None:
        if not c.done:
            await self._dispatch.answer(c.channel_id)
        self._engine.post(call_id, ev.CallerAnswered(call_id))

    async def _play(self, call_id: str, c: cmd.PlayPrompt) -> None:
        await self._ari.play(c.channel_id, c.playback_id, c.media)

    async def _stop_prompt(self, call_id: str, c: cmd.StopPrompt) -> None:
        await _unless_gone(self._ari.stop_playback(c.playback_id))

    async def _offer(self, call_id: str, c: cmd.OfferToTaker) -> None:
        await self._dispatch.originate(
            endpoint=c.endpoint,
            channel_id=c.channel_id,
            app_args=f"{TAKER_ARG},{c.call_id}",
            caller_number=c.caller_number or "112",
            ring_seconds=c.ring_seconds,
            originator=c.caller_channel,
            caller_name=c.caller_name,
        )

    async def _dial_out(self, call_id: str, c: cmd.DialOut) -> None:
        await self._dispatch.originate(
            endpoint=c.endpoint,
            channel_id=c.channel_id,
            app_args=f"{CALLBACK_ARG},{c.call_id}",
            caller_number=c.caller_number,
            ring_seconds=c.ring_seconds,
        )

    async def _connect(self, call_id: str, c: cmd.ConnectParties) -> None:
        await self._dispatch.create_bridge(c.bridge_id, c.bridge_id)
        await self._dispatch.add_channels(c.bridge_id, [c.caller_channel, c.taker_channel])
        self._engine.post(call_id, ev.PartiesConnected(call_id))

    async def _continue(self, call_id: str, c: cmd.ContinueInDialplan) -> None:
        await self._dispatch.continue_in_dialplan(c.channel_id, "emergency", "112", c.label)

    async def _hangup(self, call_id: str, c: cmd.Hangup) -> None:
        await _unless_gone(self._dispatch.hangup(c.channel_id))

    async def _destroy_bridge(self, call_id: str, c: cmd.DestroyBridge) -> None:
        await _unless_gone(self._dispatch.destroy_bridge(c.bridge_id))

    async def _record(self, call_id: str, c: cmd.RecordTimeline) -> None:
        self._writes.submit_batched(  # in a surge many entries go to Redis as one write
            f"timeline '{c.entry}' of {c.call_id}",
            TimelineEntry(c.call_id, c.entry, c.at, c.detail),
            self._store.append_many,
        )
        if self._feed is not None:  # the record first: the feed can never cost it
            self._feed.note(c)

    async def _call_agency(self, call_id: str, c: cmd.CallAgency) -> None:
        try:
            await self._dispatch.originate(
                endpoint=c.endpoint,
                channel_id=c.channel_id,
                app_args=f"{AGENCY_ARG},{c.call_id}",
                caller_number="112",
                caller_name="112 Kendari",
                ring_seconds=c.ring_seconds,
                originator=c.caller_channel,
            )
        except (AriError, AriUnavailable) as exc:  # this endpoint cannot be rung: try the next one
            log.warning("call %s: agency %s at %s not rung: %s", call_id, c.agency, c.endpoint, exc)
            self._engine.post(call_id, ev.AgencyLegEnded(call_id, c.channel_id, f"not placed: {exc}"))

    async def _add_to_bridge(self, call_id: str, c: cmd.AddToBridge) -> None:
        await self._dispatch.add_channels(c.bridge_id, [c.channel_id])

    async def _start_recording(self, call_id: str, c: cmd.StartRecording) -> None:
        try:
            if self.recorder is None:
                raise RecordingUnavailable("no recorder in this control plane")
            await self.recorder.start(c.call_id, c.channel_id)
        except RecordingUnavailable as exc:
            log.error("call %s goes on unrecorded: %s", call_id, exc)
            self._engine.post(call_id, ev.CommandFailed(call_id, "StartRecording", str(exc)))

    async def _start_screening(self, call_id: str, c: cmd.StartScreening) -> None:
        try:
            if self.screener is None:
                raise ScreeningUnavailable("screening is not running in this control plane")
            await self.screener.start(c.call_id, c.channel_id, c.caller_number)
        except ScreeningUnavailable as exc:
            log.warning("call %s: screening unavailable: %s", call_id, exc)
            self._engine.post(call_id, ev.CommandFailed(call_id, "StartScreening", str(exc)))

    async def _report_screening(self, call_id: str, c: cmd.ReportScreening) -> None:
        if self.screener is not None:
            self.screener.report(c.call_id, c.due)

    async def _stop_screening(self, call_id: str, c: cmd.StopScreening) -> None:
        if self.screener is not None:
            self.screener.stop(c.call_id)

    async def _record_screening(self, call_id: str, c: cmd.RecordScreening) -> None:
        self._writes.submit(
            f"screening of {c.call_id}",
            lambda: self._store.set_screening(
                c.call_id,
                c.verdict,
                c.level,
                c.reason,
                sorted(c.flags),
                c.features,
                c.transcript,
                list(c.cues),
            ),
        )

    async def _finish(self, call_id: str, c: cmd.FinishCall) -> None:
        if self.screener is not None:  # whatever path ended the call, nothing stays behind
            self.screener.stop(c.call_id, call_over=True)
        if self.recorder is not None and c.outcome is not Outcome.HANDED_TO_FALLBACK:
            await self.recorder.stop(c.call_id)  # a handed-over caller stays recorded to the end
        self._engine.finished(c.call_id, c.outcome.value)


async def _unless_gone(request: Awaitable[None]) -> None:
    try:
        await request
    except AriError as exc:
        if exc.status != 404:
            raise
