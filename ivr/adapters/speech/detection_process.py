"""The speech-detection process: every screened call's RTP, Silero and the second cue, out
of the control plane's interpreter.

Why a process: its threads (RTP reader, Silero's batches, the finishing threads) hold the
interpreter while they work. In the control plane's process they kept its event loop
waiting for the interpreter 0.5-4 s at a time in a surge, and a verdict due then came late.

Rules:
- Started by the control plane (speech_detection.py) with one end of a SOCK_SEQPACKET pair
  (detection_wire.py); it ends when that end closes. Its main thread only reads commands.
- OPEN brings a call's bound RTP socket: its frames (rtp_receiver.py, one reader thread for
  every call) go BATCH_FRAMES at a time to the VadBatcher and, while a recognizer listens
  to the call, back to the control plane as AUDIO. ASK is answered (ANSWER) from the
  batcher's threads once everything heard before it was judged; an unknown call is
  answered with an error at once. CLOSE flushes and closes the call's socket and forgets it.
- STATS every STATS_SECONDS: how far behind it is and what it costs (the control plane
  admits callers on it, and shows it).
- It never blocks on the control plane: a message the socket cannot take now is dropped
  and counted (in STATS); the control plane then answers on sound energy, as when late.
- Its log records go to the control plane as LOG: one log, in one format.
- SIGINT is ignored: the control plane decides when it stops. It runs in a session (a
  scheduling group) of its own, below call handling (thread_priority.py).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from concurrent.futures import Future
from dataclasses import asdict
from typing import Any

from ivr.adapters.speech import detection_wire as wire
from ivr.adapters.speech.rtp_receiver import RtpReceiver
from ivr.adapters.speech.vad import SpeechFeatures
from ivr.adapters.speech.vad_batcher import VadBatcher, cost_per_call_second
from ivr.adapters.thread_names import name_this_thread
from ivr.adapters.thread_priority import yield_process_to_calls

log = logging.getLogger(__name__)

BATCH_FRAMES = 10  # 20 ms frames per hand-over to speech detection and to the recognizer
STATS_SECONDS = 0.1


class Outbox:
    """What the process sends on its end of the socket: sends never block, what does not fit is counted."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.dropped = 0
        self._lock = threading.Lock()

    def send(self, message: bytes) -> None:
        with self._lock:
            try:
                self.sock.send(message, socket.MSG_DONTWAIT)
            except BlockingIOError:
                self.dropped += 1
            except OSError:  # the control plane is gone: the main thread sees it and ends
                self.dropped += 1


class OutboxLog(logging.Handler):
    """Log records, sent to the control plane to be logged there."""

    def __init__(self, outbox: Outbox) -> None:
        super().__init__()
        self._outbox = outbox

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
            body = {"level": record.levelno, "logger": record.name, "message": message}
            self._outbox.send(wire.encode(wire.LOG, body))
        except Exception:  # a log line is never worth a failure
            self.handleError(record)


class Heard:
    """One call's frames, on the RTP reader thread: to speech detection BATCH_FRAMES at a
    time, and to the control plane for the recognizer while one listens."""

    def __init__(self, call_id: str, batcher: VadBatcher, outbox: Outbox, recognizing: bool) -> None:
        self.call_id = call_id
        self.detector = batcher.open()
        self._batcher = batcher
        self._outbox = outbox
        self._recognizing = recognizing
        self._batch = bytearray()

    def __call__(self, frame: bytes) -> None:
        self._batch += frame
        if len(self._batch) < BATCH_FRAMES * len(frame):
            return
        chunk = bytes(self._batch)
        self._batch.clear()
        self._batcher.feed(self.detector, chunk)
        if self._recognizing:
            self._outbox.send(wire.encode_audio(self.call_id, chunk))


class Detection:
    """The calls being listened to, and the commands that reach them."""

    def __init__(self, batcher: VadBatcher, outbox: Outbox) -> None:
        self._batcher = batcher
        self._outbox = outbox
        self._calls: dict[str, tuple[Heard, RtpReceiver]] = {}
        self._lock = threading.Lock()

    def handle(self, message: bytes, fds: list[int]) -> None:
        try:
            kind, body = wire.decode(message)
            if kind == wire.OPEN:
                self._open(str(body["call"]), bool(body.get("recognizing")), fds)
            elif kind == wire.ASK:
                self._ask(int(body["id"]), str(body["call"]), body.get("cue_below"))
            elif kind == wire.CLOSE:
                self._close(str(body["call"]))
            else:
                raise wire.WireError(f"{kind.decode()} is not a command")
        except (wire.WireError, KeyError, TypeError, ValueError, RuntimeError, OSError) as exc:
            log.error("speech detection: a command was refused: %s", exc)
        finally:
            for fd in fds:  # a descriptor no OPEN took (it came with another command)
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _open(self, call_id: str, recognizing: bool, fds: list[int]) -> None:
        if len(fds) != 1:
            raise wire.WireError(f"OPEN of call {call_id} came with {len(fds)} sockets, not 1")
        rtp = socket.socket(fileno=fds.pop())  # ours now: closed by the receiver, or below
        self._close(call_id)  # a call opened again starts afresh
        heard = Heard(call_id, self._batcher, self._outbox, recognizing)
        receiver = RtpReceiver.adopt(rtp, heard)  # closes it if it cannot receive on it
        with self._lock:
            self._calls[call_id] = (heard, receiver)

    def _ask(self, ask_id: int, call_id: str, cue_below: Any) -> None:
        with self._lock:
            entry = self._calls.get(call_id)
        if entry is None:
            self._outbox.send(
                wire.encode(wire.ANSWER, {"id": ask_id, "error": f"call {call_id} is not heard here"})
            )
            return
        below = float(cue_below) if cue_below is not None else None
        answer = self._batcher.ask(entry[0].detector, measure=True, cue_below=below)
        answer.add_done_callback(lambda done: self._answer(ask_id, done))

    def _answer(self, ask_id: int, done: Future[SpeechFeatures]) -> None:
        exc = done.exception()
        body: dict[str, Any] = {"id": ask_id}
        if exc is None:
            body["features"] = asdict(done.result())
        else:
            body["error"] = repr(exc)
        self._outbox.send(wire.encode(wire.ANSWER, body))

    def _close(self, call_id: str) -> None:
        with self._lock:
            entry = self._calls.pop(call_id, None)
        if entry is not None:
            entry[1].close()  # flushes what the jitter buffer held into the detector

    def close_all(self) -> None:
        with self._lock:
            calls = list(self._calls)
        for call_id in calls:
            self._close(call_id)

    @property
    def calls(self) -> int:
        return len(self._calls)


def report_stats(batcher: VadBatcher, detection: Detection, outbox: Outbox) -> None:
    while True:
        time.sleep(STATS_SECONDS)
        body: dict[str, Any] = dict(batcher.stats())
        body.update(calls=detection.calls, dropped_messages=outbox.dropped)
        outbox.send(wire.encode(wire.STATS, body))


def serve(sock: socket.socket, measure: bool) -> None:
    outbox = Outbox(sock)
    root = logging.getLogger()
    root.addHandler(OutboxLog(outbox))
    root.setLevel(logging.INFO)
    batcher = VadBatcher()
    ready: dict[str, Any] = {"cost": None, "error": ""}
    if measure:  # before any call: the measurement uses the shared model
        try:
            ready["cost"] = cost_per_call_second()
        except Exception as exc:  # the model is missing or does not load: said, not raised
            ready["error"] = str(exc) or repr(exc)
    outbox.send(wire.encode(wire.READY, ready))
    detection = Detection(batcher, outbox)
    threading.Thread(
        target=report_stats, args=(batcher, detection, outbox), name="vad-stats", daemon=True
    ).start()
    try:
        while True:
            try:
                message, fds, _flags, _address = socket.recv_fds(sock, wire.MAX_MESSAGE, 4)
            except InterruptedError:
                continue
            except OSError:
                break
            if not message:  # the control plane closed its end
                for fd in fds:
                    with contextlib.suppress(OSError):
                        os.close(fd)
                break
            detection.handle(message, list(fds))
    finally:
        detection.close_all()
        batcher.close()


def main() -> None:  # pragma: no cover - runs in the process the control plane starts
    parser = argparse.ArgumentParser(description="The control plane's speech-detection process.")
    parser.add_argument("fd", type=int, help="the descriptor of this process's end of the socket pair")
    parser.add_argument("--measure", action="store_true", help="measure the cost per call-second at start")
    args = parser.parse_args()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    name_this_thread("speech-detect")  # the process's name in top and ps
    yield_process_to_calls()  # a scheduling group of its own, below the control plane's
    serve(socket.socket(fileno=args.fd), args.measure)


if __name__ == "__main__":
    main()
