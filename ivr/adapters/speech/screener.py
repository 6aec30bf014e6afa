"""Listens to callers while they are screened and measures what the core decides on.

Per call: an RTP port and receiver, a snoop on the caller (what the caller says, never
what they hear), an externalMedia channel sending it to the receiver, a bridge joining
the two, a speech detector, and a recognizer when one is free. report() posts what was
heard so far and listening goes on (the core asks again when the press-55 prompt goes
unanswered); stop() ends it.

Rules:
- The caller hears nothing of this and is never held by it: the core's commands return
  at once, report() posts through `post` when it has the features.
- Everything a session holds is released on every path (stop, the call's end, a failed
  start or report, the control plane stopping): port, socket, channels, bridge, recognizer. release is
  idempotent; a start that fails releases what it made before raising.
- Admission by capacity: speech detection takes as many calls at once as its measured
  cost per call allows in its CPU share (measured at start on this machine), at most
  `slots` (what the screening legs cost Asterisk: see IVR_SCREENING_SLOTS), and only while
  Asterisk sets up screening channels promptly and speech detection keeps up with the
  audio (a machine saturated in a surge gives it less than measured at start, and a late
  verdict is no verdict), and the machine is not busier than the centre's busy limit
  (admission.py has the rule and the reason). A caller beyond that, or whose
  screening channels could not be set up, or whose features speech detection cannot give
  before the report is due (the core names when: 0.3 s after the greeting's end by
  default, less RETURN_SECONDS for the way back, and less the event loop's recent lag when
  it runs late), is screened by sound energy and keys only (talk_detection.py: Asterisk's
  TALK_DETECT, set by the dialplan on every caller, so this needs no request to Asterisk
  and cannot fail), with the reason on its record: never unscreened for want of room or a
  slow Asterisk.
- Speech detection runs in a process of its own (detection_process.py, driven through
  detection_link.py): the caller's RTP socket is bound here and handed to it, and it
  receives, batches (Silero once per window position for every call) and measures there,
  so the event loop never sees a packet nor waits for a thread that computes audio; only
  a recognizer's share of the audio comes back through the event loop. A process that
  stops costs the calls it heard their speech features (they are screened by energy), and
  it is started again. Recognizers are
  admitted, not queued (see recognizers.py): a call with no free recognizer is screened
  without words.
- A recognizer that is late or fails costs the words, not the screening; the reputation
  lookup is bounded in time and an outage costs the reputation, not the screening.
- Once a caller's screening is over, Asterisk's talk detection is removed through AMI
  (`variables`, set by the app once AMI is up; talk_removal.py says why never ARI).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from ivr.adapters.ari.port import Ari, AriError, AriUnavailable
from ivr.adapters.ari.stasis_waiter import StasisWaiter
from ivr.adapters.call_store import StoreUnavailable
from ivr.adapters.reputation_store import Reputation, ReputationStore
from ivr.adapters.speech.admission import Load, admits, refusal
from ivr.adapters.speech.detection_link import DetectionLink, DetectionUnavailable
from ivr.adapters.speech.recognizers import RecognizerError, RecognizerPool
from ivr.adapters.speech.rtp_receiver import RtpPorts
from ivr.adapters.speech.screening_session import Light, Session, screening_features
from ivr.adapters.speech.talk_detection import TalkDetection
from ivr.adapters.speech.talk_removal import ChannelVariables, remove_talk_detection
from ivr.adapters.speech.vad import SpeechFeatures
from ivr.adapters.speech.vad_batcher import capacity
from ivr.core import events as ev
from ivr.core import ids

log = logging.getLogger(__name__)

SCREEN_ARG = "screen"
RECOGNIZER_TIMEOUT = 2.0  # seconds a recognizer may take for its final result
REPUTATION_TIMEOUT = 0.5
# A report is due at a time the core names (0.3 s after the greeting's end by default).
# Speech detection's features are waited for until RETURN_SECONDS before it, the time the
# report needs to reach the core; when they come later (a saturated machine), the report
# goes on the sound energy heard instead. A report asked late still gives speech detection
# LEAST_WAIT (an answer normally takes a few ms).
RETURN_SECONDS = 0.08
LEAST_WAIT = 0.02
# ... and, on an event loop running late (a saturated machine), earlier by its recent lag
# (LAG_WINDOW, the worst of it; at most LAG_KEPT_MOST, beyond which the report is late anyway).
LAG_WINDOW = 1.0
LAG_KEPT_MOST = 0.2
READY_TIMEOUT = 2.0  # seconds for the snoop and externalMedia channels to enter the app


class ScreeningUnavailable(Exception):
    """The screening of a call could not start; the message says why."""


class Screener:
    def __init__(
        self,
        ari: Ari,
        ports: RtpPorts,
        reputation: ReputationStore | None,
        recognizers: RecognizerPool | None,
        post: Callable[[str, ev.CallEvent], None],
        clock: Callable[[], float] = time.time,
        blocking: Callable[[], bool] = lambda: False,
        enough_speech: Callable[[], float | None] = lambda: None,
        slots: int = 12,
        waiter: StasisWaiter | None = None,
        cpu_share: float | None = None,
        busy_limit: float | None = None,
    ) -> None:
        self._ari = ari
        self._ports = ports
        self._reputation = reputation
        self._recognizers = recognizers
        self._post = post
        self._clock = clock
        self._blocking = blocking  # whether the centre enables time-limited blocks right now
        # Silero speech that makes a caller "spoke" (the centre's min_speech_seconds): past
        # it the second cue decides nothing and is not measured (None: always measured)
        self._enough_speech = enough_speech
        # how late the event loop has run lately (set by the app): a report needs that much
        # more for its way back
        self.loop_lag: Callable[[], float] = lambda: 0.0
        # the machine's busy share over the last second (set by the app unless the busy limit
        # is off: above busy_limit, speech detection takes no new caller)
        self.machine_busy: Callable[[], float] = lambda: 0.0
        self.busy_limit = busy_limit  # None: off
        self._detection = DetectionLink(self._audio, measure=cpu_share is not None)
        # concurrent speech detections this machine sustains: measured, at most `slots`
        self.capacity = slots if cpu_share is None else capacity(slots, cpu_share, self._detection.cost)
        self._talk = TalkDetection()  # sound energy heard, for every call being screened
        self._light: dict[str, Light] = {}  # calls screened by energy and keys
        self._starting = 0  # screenings whose channels are being set up right now
        self.sessions: dict[str, Session] = {}
        self._waiter = waiter or StasisWaiter()  # the engine reports our channels' StasisStart
        self._background: set[asyncio.Task[None]] = set()
        self.variables: ChannelVariables | None = None  # AMI, where the talk detection is removed

    @property
    def keywords(self) -> tuple[str, ...]:
        return self._recognizers.report.keywords if self._recognizers else ()

    def status(self) -> dict[str, object]:
        """What is held right now; all zero when no call is being screened."""
        pool = self._recognizers
        return {
            "running": True,
            "sessions": sorted(self.sessions),
            "rtp_ports_in_use": sorted(self._ports.in_use),
            "recognizers": {"size": pool.size, "busy": pool.busy} if pool else None,
            "keywords": list(self.keywords),
            "speech_detection": self._detection.stats() | {"capacity": self.capacity},
            # the centre's busy limit and, unless it is off, how busy the machine was lately
            "busy_limit": self.busy_limit,
            "machine_busy": None if self.busy_limit is None else round(self.machine_busy(), 3),
            "energy_only": sorted(self._light),
        }

    # ---- the core's commands -------------------------------------------------------------
    async def start(self, call_id: str, channel_id: str, caller_number: str) -> None:
        if call_id in self.sessions or call_id in self._light:
            return
        self._talk.start(call_id)
        busy = self.machine_busy() if self.busy_limit is not None else 0.0
        load = Load(len(self.sessions), self.capacity, self._starting, self._detection.behind_seconds(), busy)
        if not admits(load, self.busy_limit):
            self._start_light(call_id, caller_number, refusal(load, self.busy_limit))
            return
        self._starting += 1
        try:
            await self._start_full(call_id, channel_id, caller_number)
        except ScreeningUnavailable as exc:
            self._start_light(call_id, caller_number, f"speech detection could not start: {exc}")
        finally:
            self._starting -= 1

    async def _start_full(self, call_id: str, channel_id: str, caller_number: str) -> None:
        try:
            rtp = self._ports.allocate()
        except OSError as exc:  # PortsExhaustedError included
            raise ScreeningUnavailable(f"no RTP port: {exc}") from exc
        worker = self._recognizers.acquire() if self._recognizers else None
        try:
            self._detection.open(call_id, rtp, recognizing=worker is not None)
        except DetectionUnavailable as exc:
            if worker is not None and self._recognizers is not None:
                self._recognizers.release(worker)
            self._close_rtp(rtp)
            raise ScreeningUnavailable(str(exc)) from exc
        chunks: asyncio.Queue[bytes | None] | None = asyncio.Queue() if worker is not None else None
        session = Session(call_id, caller_number, rtp, worker, time.monotonic(), chunks)
        self.sessions[call_id] = session
        if worker is not None:
            try:
                await worker.begin(self._recognizers.grammar() if self._recognizers else None)
            except OSError as exc:  # the recognizer is lost, not the screening
                session.recognizer_error, worker.broken = f"recognizer lost: {exc}", True
        try:
            if worker is not None:
                session.consumer = asyncio.create_task(self._recognize(session), name=f"screen-{call_id}")
            session.reputation = asyncio.create_task(self._lookup(call_id, caller_number))
            legs = [ids.snoop_id(call_id), ids.media_id(call_id)]
            ready = [self._waiter.expect(leg) for leg in legs]
            await self._ari.snoop(channel_id, legs[0], f"{SCREEN_ARG},{call_id}")
            await self._ari.create_bridge(ids.screen_bridge_id(call_id), ids.screen_bridge_id(call_id))
            await self._ari.external_media(legs[1], f"{self._ports.host}:{port_of(rtp)}")
            async with asyncio.timeout(READY_TIMEOUT):  # a channel joins a bridge once in the app
                await asyncio.gather(*ready)
            await self._ari.add_channels(ids.screen_bridge_id(call_id), legs)
        except (AriError, AriUnavailable, OSError, TimeoutError) as exc:
            stopped = session.released  # the call's screening was stopped meanwhile (hang-up)
            await self._release(session)
            if stopped:
                return
            raise ScreeningUnavailable(str(exc) or "screening channels did not enter the app") from exc
        finally:
            self._waiter.forget(ids.snoop_id(call_id), ids.media_id(call_id))
        log.info(
            "call %s: screening on RTP port %d, recognizer %s",
            call_id,
            port_of(rtp),
            "none free" if worker is None and self._recognizers else (worker.index if worker else "none"),
        )

    def _start_light(self, call_id: str, caller_number: str, reason: str) -> None:
        if call_id not in self._talk:  # stopped while speech detection was being set up
            return
        self._light[call_id] = Light(reason, asyncio.create_task(self._lookup(call_id, caller_number)))
        log.info("call %s: screened by energy and keys (%s)", call_id, reason)

    def talking(self, call_id: str, seconds: float | None) -> None:
        """Talk detection on a live caller: started (None) or finished after `seconds`."""
        self._talk.talking(call_id, seconds)

    def call_ended(self, call_id: str) -> None:
        self._talk.forget(call_id)

    def report(self, call_id: str, due: float) -> None:
        """Post a ScreeningReport with what was heard so far, by `due` (this screener's
        clock); listening goes on until stop()."""
        light = call_id in self._light
        self._spawn(self._report_light(call_id) if light else self._report(call_id, due))

    def stop(self, call_id: str, call_over: bool = False) -> None:
        """Release the call's screening with no report (hang-up, end, late report).
        `call_over`: the call ended here (the caller gone, or in the dialplan, which removes
        the talk detection itself): nothing to ask Asterisk."""
        if self._talk.stop(call_id) and not call_over:
            self._spawn(remove_talk_detection(self.variables, call_id))
        session = self.sessions.get(call_id)
        if session is not None:
            self._spawn(self._release(session))
        self._release_light(call_id)

    async def close(self) -> None:
        """The control plane stops: release every session, then the thread pool."""
        await asyncio.gather(*(self._release(s) for s in list(self.sessions.values())))
        for call_id in list(self._light):
            self._release_light(call_id)
            self._talk.forget(call_id)
        await asyncio.gather(*self._background, return_exceptions=True)
        await self._detection.aclose()

    # ---- inside ----------------------------------------------------------------------------
    def _spawn(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(job)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _audio(self, call_id: str, pcm: bytes) -> None:
        """A call's audio for its recognizer, from the speech-detection process."""
        session = self.sessions.get(call_id)
        if session is not None and session.chunks is not None and not session.released:
            session.chunks.put_nowait(pcm)

    async def _recognize(self, session: Session) -> None:
        chunks = session.chunks
        while chunks is not None and (pcm := await chunks.get()) is not None:
            async with session.recognizer_turn:
                if session.worker is None or session.recognizer_error:
                    continue
                try:
                    await session.worker.feed(pcm)
                except OSError as exc:
                    session.recognizer_error = f"recognizer lost: {exc}"
                    session.worker.broken = True

    async def _lookup(self, call_id: str, number: str) -> Reputation | None:
        if self._reputation is None or not number:
            return None
        try:
            async with asyncio.timeout(REPUTATION_TIMEOUT):
                return await self._reputation.reputation(number, self._clock())
        except (StoreUnavailable, TimeoutError) as exc:  # the call id, never the number (it may be private)
            log.warning("call %s: the caller's reputation is unavailable: %r", call_id, exc)
            return None

    async def _report(self, call_id: str, due: float) -> None:
        session = self.sessions.get(call_id)
        if session is None:
            self._post(call_id, ev.ScreeningReport(call_id, None, error="screening was not running"))
            return
        late = ""
        way_back = RETURN_SECONDS + min(self.loop_lag(), LAG_KEPT_MOST)
        wait = max(LEAST_WAIT, due - way_back - self._clock())
        try:
            try:
                measured = self._detection.features(call_id, cue_below=self._enough_speech())
                speech = await asyncio.wait_for(measured, wait)
            except (TimeoutError, DetectionUnavailable) as exc:
                late = str(exc) if isinstance(exc, DetectionUnavailable) else ""
                late = late or f"speech detection late (no answer in {wait:.2f} s)"
                speech = self._heard_by_energy(call_id)
                log.info("call %s: screened by energy and keys (%s)", call_id, late)
            words, transcript = await self._words(session)
            reputation = await session.reputation if session.reputation else None
        except Exception as exc:  # fail open: the core keeps the call as it is, with the reason
            log.exception("call %s: screening failed", call_id)
            self._post(call_id, ev.ScreeningReport(call_id, None, error=repr(exc)))
            await self._release(session)
        else:
            features = screening_features(speech, words, self.keywords, reputation, self._blocking())
            features = replace(features, energy_only=late)
            self._post(call_id, ev.ScreeningReport(call_id, features, transcript, session.recognizer_error))

    async def _report_light(self, call_id: str) -> None:
        light = self._light.get(call_id)
        if light is None:
            self._post(call_id, ev.ScreeningReport(call_id, None, error="screening was not running"))
            return
        reputation = await light.reputation
        features = screening_features(self._heard_by_energy(call_id), (), (), reputation, self._blocking())
        self._post(call_id, ev.ScreeningReport(call_id, replace(features, energy_only=light.reason), ""))

    def _heard_by_energy(self, call_id: str) -> SpeechFeatures:
        """What talk detection heard: its seconds of sound as the cue's, nothing as speech."""
        return SpeechFeatures(0.0, 0.0, 0, None, 0.0, cue_speech_seconds=self._talk.heard(call_id))

    def _close_rtp(self, rtp: socket.socket) -> None:
        """Our copy of the call's socket; the port is free once the process closed its own."""
        port = port_of(rtp)
        rtp.close()
        self._ports.release(port)

    def _release_light(self, call_id: str) -> None:
        light = self._light.pop(call_id, None)
        if light is not None and not light.reputation.done():
            light.reputation.cancel()

    async def _words(self, session: Session) -> tuple[tuple[str, ...], str]:
        """The recognizer's words, once: it is given back after its final result (a later
        report of the same call counts the words of the first)."""
        async with session.recognizer_turn:
            return await self._final_words(session)

    async def _final_words(self, session: Session) -> tuple[tuple[str, ...], str]:
        if session.words is not None:
            return session.words
        if session.worker is None or session.recognizer_error:
            return (), ""
        try:
            recognition = await session.worker.finish(RECOGNIZER_TIMEOUT)
        except RecognizerError as exc:
            session.recognizer_error = str(exc)
            return (), ""
        session.words = recognition.words, recognition.text
        if self._recognizers is not None:  # free for the next call at once
            self._recognizers.release(session.worker)
        session.worker = None
        return session.words

    async def _teardown_media(self, session: Session) -> None:
        if session.media_down:
            return
        session.media_down = True
        call_id = session.call_id
        for channel in (ids.media_id(call_id), ids.snoop_id(call_id)):
            with contextlib.suppress(AriError, AriUnavailable):
                await self._ari.hangup(channel)
        with contextlib.suppress(AriError, AriUnavailable):
            await self._ari.destroy_bridge(ids.screen_bridge_id(call_id))

    async def _release(self, session: Session) -> None:
        if session.released:
            return
        session.released = True
        self.sessions.pop(session.call_id, None)
        await self._teardown_media(session)
        self._detection.close(session.call_id)  # the process flushes and closes its copy
        self._close_rtp(session.rtp)
        if session.chunks is not None:
            session.chunks.put_nowait(None)  # the recognizer's feeding ends
        for task in (session.consumer, session.reputation):
            if task is not None and not task.done():
                task.cancel()
        if session.worker is not None and self._recognizers is not None:
            if not session.worker.broken:
                await session.worker.abort()  # a no-op for a worker that already answered
            self._recognizers.release(session.worker)


def port_of(rtp: socket.socket) -> int:
    return int(rtp.getsockname()[1])
