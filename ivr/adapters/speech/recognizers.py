"""Vosk recognizers in worker processes, one screening per worker at a time.

Rules:
- The model is loaded once, in the control plane, then the workers are forked: they
  share its memory. Each worker makes a recognizer when a screening begins and frees it
  when the screening ends (a recognizer's memory grows with audio and is not returned).
- Admission control: acquire() answers at once, with a free worker or None. A call that
  finds every worker busy is screened by speech detection and DTMF only; nobody waits.
- Audio arrives as 8 kHz native int16 and is resampled in the worker (soxr) to the
  model's rate, so any model works whatever its allow-upsample setting.
- Messages on a socket pair: kind (1 byte), length (4 bytes, big-endian), payload.
  A worker that dies, errs or does not answer in time is replaced, never reused.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import signal
import socket
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ivr.adapters.speech.vosk_model import ModelReport, check_files, check_vocabulary

log = logging.getLogger(__name__)

START, AUDIO, FINISH, ABORT, RESULT, ERROR = b"S", b"A", b"F", b"X", b"R", b"E"
HEADER = struct.Struct(">cI")
INPUT_RATE = 8000


@dataclass(frozen=True)
class Recognition:
    text: str
    words: tuple[str, ...]


class RecognizerError(Exception):
    pass


def load_model(path: Path, keywords: list[str]) -> tuple[Any, ModelReport]:
    """Load a model folder (never a download) and check it; ModelUnusable says what is wrong."""
    check_files(path)
    import vosk

    vosk.SetLogLevel(-1)
    model = vosk.Model(str(path))
    return model, check_vocabulary(path, model, keywords)


class RecognizerPool:
    def __init__(self, model: Any, report: ModelReport, slots: int) -> None:
        self.report = report
        self._model = model
        self._workers = [Worker(model, report.sample_rate, i) for i in range(slots)]
        self._free = list(self._workers)

    @property
    def size(self) -> int:
        return len(self._workers)

    @property
    def busy(self) -> int:
        return len(self._workers) - len(self._free)

    def grammar(self) -> str | None:
        """The grammar for keyword mode, or None for free recognition."""
        if not self.report.keyword_mode:
            return None
        return json.dumps([*self.report.keywords, "[unk]"])

    def acquire(self) -> Worker | None:
        return self._free.pop() if self._free else None

    def release(self, worker: Worker) -> None:
        if worker.broken:
            worker.replace(self._model)
        if worker not in self._free:
            self._free.append(worker)

    def close(self) -> None:
        for worker in self._workers:
            worker.stop()


class Worker:
    """One forked process that runs one recognizer at a time."""

    def __init__(self, model: Any, rate: int, index: int) -> None:
        self.index = index
        self._rate = rate
        self.broken = False
        self._spawn(model)

    def _spawn(self, model: Any) -> None:
        parent, child = socket.socketpair()
        context = multiprocessing.get_context("fork")
        self._process = context.Process(
            target=_serve, args=(model, child, self._rate), name=f"vosk-{self.index}", daemon=True
        )
        self._process.start()
        child.close()
        self._sock = parent
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.broken = False

    @property
    def pid(self) -> int | None:
        return self._process.pid

    async def _stream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(sock=self._sock)
        return self._reader, self._writer

    async def _send(self, kind: bytes, payload: bytes = b"") -> None:
        _, writer = await self._stream()
        writer.write(HEADER.pack(kind, len(payload)) + payload)
        await writer.drain()

    async def begin(self, grammar: str | None) -> None:
        await self._send(START, (grammar or "").encode())

    async def feed(self, pcm: bytes) -> None:
        await self._send(AUDIO, pcm)

    async def finish(self, within: float) -> Recognition:
        """The final result, or RecognizerError (and the worker is replaced) after `within` s."""
        try:
            async with asyncio.timeout(within):
                await self._send(FINISH)
                reader, _ = await self._stream()
                kind, length = HEADER.unpack(await reader.readexactly(HEADER.size))
                payload = await reader.readexactly(length)
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
            self.broken = True
            raise RecognizerError(f"recognizer {self.index} gave no result: {exc!r}") from exc
        if kind == ERROR:
            raise RecognizerError(f"recognizer {self.index}: {payload.decode(errors='replace')}")
        result = json.loads(payload)
        text = str(result.get("text", ""))
        return Recognition(text, tuple(text.split()))

    async def abort(self) -> None:
        try:
            await self._send(ABORT)
        except OSError:
            self.broken = True

    def replace(self, model: Any) -> None:
        log.warning("recognizer worker %d replaced", self.index)
        self.stop()
        self._spawn(model)

    def stop(self) -> None:
        try:
            if self._writer is not None:
                self._writer.close()
        except RuntimeError:  # its event loop is gone: the socket is closed below
            pass
        self._sock.close()
        if self._process.is_alive() and self._process.pid is not None:
            os.kill(self._process.pid, signal.SIGTERM)
        self._process.join(timeout=2)


def _serve(model: Any, sock: socket.socket, rate: int) -> None:  # pragma: no cover - runs in the worker
    """The worker's loop: one recognizer per screening, freed when it ends."""
    import soxr
    import vosk

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the control plane decides when workers stop
    stream = sock.makefile("rb")
    recognizer: Any = None
    resampler: Any = None

    def reply(kind: bytes, payload: bytes) -> None:
        sock.sendall(HEADER.pack(kind, len(payload)) + payload)

    while True:
        header = stream.read(HEADER.size)
        if len(header) < HEADER.size:
            return
        kind, length = HEADER.unpack(header)
        payload = stream.read(length) if length else b""
        try:
            if kind == START:
                grammar = payload.decode()
                args = (model, rate, grammar) if grammar else (model, rate)
                recognizer = vosk.KaldiRecognizer(*args)
                resampler = None
                if rate != INPUT_RATE:
                    resampler = soxr.ResampleStream(INPUT_RATE, rate, 1, dtype="int16")
            elif kind == AUDIO and recognizer is not None:
                samples = np.frombuffer(payload, dtype=np.int16)
                if resampler is not None:
                    samples = resampler.resample_chunk(samples)
                recognizer.AcceptWaveform(samples.astype(np.int16).tobytes())
            elif kind == FINISH:
                result = recognizer.FinalResult() if recognizer is not None else '{"text": ""}'
                recognizer = resampler = None  # freed now: its memory grows with audio
                reply(RESULT, result.encode())
            elif kind == ABORT:
                recognizer = resampler = None
        except Exception as exc:
            recognizer = resampler = None
            reply(ERROR, repr(exc).encode())
