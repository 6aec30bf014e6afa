"""The control plane's side of its speech-detection process: starts it, sends it commands,
matches its answers, and starts it again when it stops.

Rules:
- The process (detection_process.py) is started at construction, which waits for it to be
  ready (at most START_SECONDS): callers are admitted on the cost it measured, so that cost
  is known before the first call.
- The event loop never waits on the process: commands are sent without blocking, and one
  that cannot be sent (the process stopped or stuck) raises DetectionUnavailable, which the
  screener takes as "screen by sound energy"; answers and statistics arrive through the
  loop's reader callback.
- A call belongs to the process that was given its socket: once that process has stopped,
  asking for the call's features raises DetectionUnavailable at once.
- A process that stops is started again after RESTART_SECONDS, doubling up to
  RESTART_MOST while it keeps stopping; every asker waiting on it is answered with
  DetectionUnavailable at once. Its statistics older than STALE_SECONDS count as falling behind.
- close() ends the process (its socket closes; after CLOSE_SECONDS it is terminated).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, cast

from ivr.adapters.speech import detection_wire as wire
from ivr.adapters.speech.vad import SpeechFeatures

log = logging.getLogger(__name__)

START_SECONDS = 60.0  # the process's start, model loaded and its cost measured
RESTART_SECONDS = 1.0
RESTART_MOST = 30.0
STALE_SECONDS = 1.0  # statistics this old mean the process is not keeping up
CLOSE_SECONDS = 3.0
MODULE = "ivr.adapters.speech.detection_process"


class DetectionUnavailable(Exception):
    """Speech detection cannot hear this call (its process stopped or is stuck); says why."""


class DetectionLink:
    def __init__(self, on_audio: Callable[[str, bytes], None], measure: bool) -> None:
        self._on_audio = on_audio  # a call's audio for its recognizer
        self._loop = asyncio.get_running_loop()
        self._asks = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[SpeechFeatures]] = {}
        self._calls: dict[str, int] = {}  # call -> the process generation that has its socket
        self._generation = 0
        self._sock: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._restart_delay = RESTART_SECONDS
        self._restart: asyncio.TimerHandle | None = None
        self._closed = False
        self.restarts = 0
        self.cost: float | None = None  # CPU seconds per call-second, when measured
        self.error = ""  # why speech detection cannot work, if it cannot
        self._stats: dict[str, Any] = {}
        self._stats_at = time.monotonic()
        self._start(measure)

    # ---- what the screener uses ----------------------------------------------------------
    def open(self, call_id: str, rtp: socket.socket, recognizing: bool) -> None:
        """Hand the call's bound RTP socket to the process (which reads it from now on)."""
        body = {"call": call_id, "recognizing": recognizing}
        self._send(wire.encode(wire.OPEN, body), fds=[rtp.fileno()])
        self._calls[call_id] = self._generation

    async def features(self, call_id: str, cue_below: float | None) -> SpeechFeatures:
        """What was heard of the call so far (it is listened to on)."""
        if self._calls.get(call_id) != self._generation or self._sock is None:
            raise DetectionUnavailable("speech detection's process stopped since the call's screening began")
        ask_id = next(self._asks)
        answer: asyncio.Future[SpeechFeatures] = self._loop.create_future()
        self._waiting[ask_id] = answer
        try:
            self._send(wire.encode(wire.ASK, {"id": ask_id, "call": call_id, "cue_below": cue_below}))
            return await answer
        finally:  # answered, failed or given up: forgotten either way
            self._waiting.pop(ask_id, None)

    def close(self, call_id: str) -> None:
        """The call's screening is over (its socket is the caller's to close)."""
        if self._calls.pop(call_id, None) == self._generation and self._sock is not None:
            with contextlib.suppress(DetectionUnavailable):
                self._send(wire.encode(wire.CLOSE, {"call": call_id}))

    def behind_seconds(self) -> float:
        """How far speech detection lags the audio: its own figure, or, when it has said
        nothing for a while (stuck or stopped), that silence."""
        if self._sock is None:
            return float("inf")
        silent = time.monotonic() - self._stats_at
        behind = float(self._stats.get("behind_seconds", 0.0))
        return max(behind, silent) if silent > STALE_SECONDS else behind

    def stats(self) -> dict[str, Any]:
        """For the operator (JSON): while the process is not running, pid and
        behind_seconds are null."""
        running = self._process is not None and self._sock is not None
        return {
            **self._stats,
            "behind_seconds": round(self.behind_seconds(), 3) if running else None,
            "pid": self._process.pid if running and self._process is not None else None,
            "restarts": self.restarts,
        }

    async def aclose(self) -> None:
        self._closed = True
        if self._restart is not None:
            self._restart.cancel()
        process = self._process
        self._disconnect("the control plane is stopping")
        if process is not None:
            try:
                await asyncio.to_thread(process.wait, CLOSE_SECONDS)
            except subprocess.TimeoutExpired:
                process.terminate()
                await asyncio.to_thread(process.wait)

    # ---- inside --------------------------------------------------------------------------
    def _start(self, measure: bool) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            args = [sys.executable, "-m", MODULE, str(theirs.fileno()), *(["--measure"] if measure else [])]
            self._process = subprocess.Popen(args, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        except OSError as exc:
            ours.close()
            self.error = f"speech detection's process did not start: {exc}"
            log.error("%s", self.error)
            self._schedule_restart()
            return
        finally:
            theirs.close()
        self._generation += 1
        self._sock = ours
        if measure:
            self._wait_ready(ours)
        ours.setblocking(False)
        self._stats_at = time.monotonic()
        self._loop.add_reader(ours.fileno(), self._readable)
        log.info("speech detection runs in process %d", self._process.pid)

    def _wait_ready(self, sock: socket.socket) -> None:
        """At start, before any call: the cost the process measured (the loop waits; what
        the process logs meanwhile is logged)."""
        deadline = time.monotonic() + START_SECONDS
        kind, body = b"", cast(dict[str, Any], {})
        try:
            while kind != wire.READY:
                sock.settimeout(max(0.0, deadline - time.monotonic()))
                message = sock.recv(wire.MAX_MESSAGE)
                if not message:
                    body = {"error": "it stopped"}
                    break
                kind, body = wire.decode(message)
                if kind == wire.LOG:
                    self._received(message)
        except (OSError, wire.WireError, KeyError, TypeError, ValueError) as exc:
            kind, body = b"", {"error": str(exc) or repr(exc)}
        if kind != wire.READY:
            self.error = f"speech detection's process did not start: {body.get('error') or 'no answer'}"
        else:
            self.cost = body.get("cost")
            self.error = str(body.get("error") or "")
        if self.error:
            log.error("speech detection unavailable, callers are screened by sound energy: %s", self.error)

    def _send(self, message: bytes, fds: list[int] | None = None) -> None:
        if self._sock is None:
            raise DetectionUnavailable(
                f"speech detection's process is not running ({self.error or 'restarting'})"
            )
        try:
            if fds:
                socket.send_fds(self._sock, [message], fds)
            else:
                self._sock.send(message)
        except BlockingIOError as exc:
            raise DetectionUnavailable("speech detection's process is not reading its commands") from exc
        except OSError as exc:
            self._stopped(f"its socket failed: {exc}")
            raise DetectionUnavailable(f"speech detection's process stopped: {exc}") from exc

    def _readable(self) -> None:
        while self._sock is not None:
            try:
                message = self._sock.recv(wire.MAX_MESSAGE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._stopped(f"its socket failed: {exc}")
                return
            if not message:
                self._stopped("it closed its end")
                return
            try:
                self._received(message)
            except (wire.WireError, KeyError, TypeError, ValueError) as exc:
                log.error("speech detection sent a message that does not parse: %s", exc)

    def _received(self, message: bytes) -> None:
        if message[:1] == wire.AUDIO:
            self._on_audio(*wire.decode_audio(message))
            return
        kind, body = wire.decode(message)
        if kind == wire.STATS:
            self._stats, self._stats_at = body, time.monotonic()
            self._restart_delay = RESTART_SECONDS  # it runs: the next stop restarts it promptly
        elif kind == wire.ANSWER:
            answer = self._waiting.get(int(body["id"]))
            if answer is None or answer.done():  # given up on (late): nobody waits for it
                return
            if "features" in body:
                answer.set_result(SpeechFeatures(**body["features"]))
            else:
                answer.set_exception(DetectionUnavailable(f"speech detection failed: {body.get('error')}"))
        elif kind == wire.LOG:
            logging.getLogger(str(body["logger"])).log(int(body["level"]), "%s", body["message"])
        elif kind == wire.READY and body.get("error"):
            log.error("speech detection unavailable: %s", body["error"])

    def _stopped(self, why: str) -> None:
        code = self._process.poll() if self._process is not None else None
        self._disconnect(f"speech detection's process stopped ({why}, exit code {code})")
        log.error("speech detection's process stopped (%s, exit code %s): starting it again", why, code)
        self._schedule_restart()

    def _disconnect(self, why: str) -> None:
        if self._sock is not None:
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        for answer in self._waiting.values():
            if not answer.done():
                answer.set_exception(DetectionUnavailable(why))
        self._calls.clear()
        process, self._process = self._process, None
        if process is not None and process.poll() is None and not self._closed:
            process.kill()  # it closed its end and lingers: ours to end, by its pid
        if process is not None and not self._closed:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(0.5)
        if self._closed:
            self._process = process  # aclose() waits for it

    def _schedule_restart(self) -> None:
        if self._closed:
            return
        delay, self._restart_delay = self._restart_delay, min(RESTART_MOST, self._restart_delay * 2)
        self._restart = self._loop.call_later(delay, self._restarted)

    def _restarted(self) -> None:
        self._restart = None
        if self._closed:
            return
        self.restarts += 1
        self._start(measure=False)
