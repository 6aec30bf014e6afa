"""Silero VAD's ONNX model at 8 kHz, for many streams at once.

Rules:
- One inference judges one 32 ms window (WINDOW samples at 8 kHz, no resampling) of every
  stream in the batch: a row per stream, each with its own recurrent state and the last
  CONTEXT samples of its previous window. Rows are independent: a stream's result does
  not depend on which other streams shared its batch, or on batch size.
- The model is the file shipped in the `silero-vad` 6.2.3 wheel (installed without its
  torch dependency; found without importing the package; checked against MODEL_SHA256,
  since the screening thresholds were evaluated with it) or the file IVR_SILERO_MODEL names;
  it is loaded once per process. One intra-op thread: the batch, not threads, spreads the cost.
- Pure computation: no I/O after loading, no clock. Not thread-safe: one caller at a time
  (the batcher's worker thread, or a tool running offline).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RATE = 8000
WINDOW = 256  # samples at 8 kHz: 32 ms, Silero's window at this rate
CONTEXT = 32  # samples of the previous window the model sees before each window
STATE_SHAPE = (2, 128)  # per stream
WINDOW_SECONDS = WINDOW / RATE
MODEL_SHA256 = "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"  # silero-vad 6.2.3


class ModelMissing(RuntimeError):
    """The Silero ONNX model file is not installed; the message says how to get it."""


def model_path() -> Path:
    """IVR_SILERO_MODEL if set, else the model inside the installed `silero-vad` wheel."""
    configured = os.environ.get("IVR_SILERO_MODEL")
    if configured:
        path = Path(configured)
    else:
        spec = importlib.util.find_spec("silero_vad")  # finds it without running its torch import
        if spec is None or spec.origin is None:
            raise ModelMissing(
                "the silero-vad package is not installed (make deps installs it without torch)"
            )
        path = Path(spec.origin).parent / "data" / "silero_vad.onnx"
    if not path.is_file():
        raise ModelMissing(f"no Silero ONNX model at {path}")
    if not configured and hashlib.sha256(path.read_bytes()).hexdigest() != MODEL_SHA256:
        raise ModelMissing(f"{path} is not the Silero model this code was evaluated with (silero-vad 6.2.3)")
    return path


@dataclass
class StreamState:
    """One stream's memory between windows."""

    state: np.ndarray = field(default_factory=lambda: np.zeros(STATE_SHAPE, dtype=np.float32))
    context: np.ndarray = field(default_factory=lambda: np.zeros(CONTEXT, dtype=np.float32))


class Silero:
    def __init__(self, path: Path | None = None) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(path or model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._rate = np.array(RATE, dtype=np.int64)

    def step(self, windows: np.ndarray, streams: list[StreamState]) -> np.ndarray:
        """Speech probability of one window per stream (rows of `windows`, float32 in
        [-1, 1], WINDOW samples each); each stream's state moves on by one window."""
        if windows.shape != (len(streams), WINDOW):
            raise ValueError(f"windows must be ({len(streams)}, {WINDOW}), not {windows.shape}")
        if not streams:
            return np.zeros(0, dtype=np.float32)
        contexts = np.stack([s.context for s in streams])
        states = np.stack([s.state for s in streams], axis=1)
        rows = np.concatenate((contexts, windows.astype(np.float32, copy=False)), axis=1)
        out, new_states = self._session.run(None, {"input": rows, "state": states, "sr": self._rate})
        for index, stream in enumerate(streams):
            stream.state = new_states[:, index, :].copy()
            stream.context = rows[index, -CONTEXT:].copy()
        return np.asarray(out[:, 0], dtype=np.float32)


_shared: Silero | None = None


def shared() -> Silero:
    """The process's model (loaded on first use)."""
    global _shared
    if _shared is None:
        _shared = Silero()
    return _shared
