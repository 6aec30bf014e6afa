"""What a caller's audio holds: speech (Silero VAD) and non-speech sound, as a few numbers.

Rules:
- Input is 8 kHz int16 mono PCM in frames of any length (native-endian bytes or an int16
  array), cut into Silero's 32 ms windows (silero.WINDOW samples) from the start of the
  stream, judged at 8 kHz as they are (no resampling): the result does not depend on how
  the audio was cut.
- A window is speech at SPEECH_ON or above. A window quieter than SILENCE_GATE_DBFS is
  silence without asking Silero (its main cost on silent lines and in pauses).
- Segments have hysteresis and hangover: a segment opens on a speech window and closes only
  after HANGOVER_SECONDS below SPEECH_OFF, so one utterance with short pauses is one segment.
  A segment needs MIN_SEGMENT_SECONDS of speech windows to count; a shorter blip is neither
  a segment nor speech seconds.
- Sound is a window whose RMS is above NOISE_FLOOR_DBFS that Silero does not call speech:
  music, noise, tones; it is reported to the call taker, never taken as a prank.
- Beside Silero, the second speech cue (voice_cue) hears what Silero misses (a whisper, a
  quiet or short word) from the same 8 kHz audio and Silero's own probabilities.
- Silero is asked by judge_windows(), which judges the pending windows of many detectors
  with one inference per window position (a batch of streams): a detector made with
  `batched=True` only collects windows (the batcher's worker judges them); otherwise
  feed() judges its own windows at once.
- Pure computation: no I/O, no clock; time is audio time (samples fed).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from ivr.adapters.speech import silero
from ivr.adapters.speech.voice_cue import VoiceCue

IN_RATE = silero.RATE
CHUNK = silero.WINDOW
CHUNK_SECONDS = silero.WINDOW_SECONDS
SPEECH_ON = 0.5  # probability at or above which a window is speech
SPEECH_OFF = 0.35  # probability below which a window counts towards closing a segment
HANGOVER_SECONDS = 0.3  # non-speech inside a segment that does not end it
MIN_SEGMENT_SECONDS = 0.1  # speech a segment needs to count
NOISE_FLOOR_DBFS = -45.0  # RMS (dB full scale) above which a non-speech window is sound
SILENCE_GATE_DBFS = -60.0  # RMS below which a window is silence without asking Silero

_HANGOVER_CHUNKS = round(HANGOVER_SECONDS / CHUNK_SECONDS)
_MIN_SEGMENT_CHUNKS = max(1, round(MIN_SEGMENT_SECONDS / CHUNK_SECONDS))
_NOISE_FLOOR_RMS = 10 ** (NOISE_FLOOR_DBFS / 20)
_SILENCE_GATE_RMS = 10 ** (SILENCE_GATE_DBFS / 20)


@dataclass(frozen=True)
class SpeechFeatures:
    audio_seconds: float  # audio judged so far
    speech_seconds: float  # speech windows inside counted segments
    speech_segments: int
    first_speech_seconds: float | None  # audio time at which the first segment starts
    sound_seconds: float  # non-speech windows above the noise floor
    cue_speech_seconds: float = 0.0  # voice-like sound heard by the second cue


def judge_windows(detectors: list[SpeechDetector], model: silero.Silero | None = None) -> int:
    """Judges every detector's pending windows, in order, one inference per window position
    for all detectors that have a window there and are above the silence gate. Returns the
    number of windows judged."""
    model = model or silero.shared()
    pending = [(d, *d.take_windows()) for d in detectors]
    pending = [(d, w, r) for d, w, r in pending if w.shape[0]]
    judged = 0
    depth = max((w.shape[0] for _, w, _ in pending), default=0)
    for position in range(depth):
        here = [(d, w[position], r[position]) for d, w, r in pending if w.shape[0] > position]
        loud = [(d, w) for d, w, rms in here if rms > _SILENCE_GATE_RMS]
        probabilities = (
            model.step(np.stack([w for _, w in loud]), [d.stream for d, _ in loud])
            if loud
            else np.zeros(0, dtype=np.float32)
        )
        asked = {id(d): float(p) for (d, _), p in zip(loud, probabilities, strict=True)}
        for d, _, rms in here:
            d.judge(asked.get(id(d), 0.0), float(rms))
        judged += len(here)
    return judged


class SpeechDetector:
    """One caller's audio: windows for Silero out, its probabilities in, features kept."""

    def __init__(self, cue: bool = True, batched: bool = False) -> None:
        """`cue=False` runs Silero alone (the benchmark's baseline); `batched=True` leaves
        the judging to judge_windows() called by someone else (the batcher)."""
        self.stream = silero.StreamState()
        self._batched = batched
        self._cue = VoiceCue() if cue else None
        self._leaning: list[float] = []  # Silero's probability per window, for the second cue
        self._pending: list[np.ndarray] = []  # samples fed and not yet cut into windows
        self._pending_size = 0
        self._chunks = 0
        self._speech_chunks = 0
        self._segments = 0
        self._first_speech: float | None = None
        self._sound_chunks = 0
        # the open segment, if any
        self._in_segment = False
        self._segment_start = 0
        self._segment_speech = 0
        self._quiet_run = 0
        self._finished = False

    @property
    def finished(self) -> bool:
        return self._finished

    def feed(self, pcm: bytes | bytearray | memoryview | np.ndarray) -> None:
        """Add 8 kHz int16 mono audio, any length."""
        if self._finished:
            raise RuntimeError("SpeechDetector.feed after finish()")
        samples = np.frombuffer(pcm, dtype=np.int16) if not isinstance(pcm, np.ndarray) else pcm
        if samples.size:
            if self._cue is not None:
                self._cue.feed(samples)
            self._pending.append(np.asarray(samples, dtype=np.int16))
            self._pending_size += samples.size
            if not self._batched:
                judge_windows([self])

    def take_windows(self) -> tuple[np.ndarray, np.ndarray]:
        """The whole windows fed and not yet judged (float32, one per row) and their RMS;
        they must be judged, in order, before the next take."""
        whole = self._pending_size - self._pending_size % CHUNK
        if not whole:
            return np.zeros((0, CHUNK), dtype=np.float32), np.zeros(0)
        data = np.concatenate(self._pending) if len(self._pending) > 1 else self._pending[0]
        rest = data[whole:]
        self._pending, self._pending_size = ([rest.copy()] if rest.size else []), rest.size
        windows = (data[:whole].astype(np.float32) / 32768.0).reshape(-1, CHUNK)
        rms = np.sqrt(np.mean(np.square(windows, dtype=np.float64), axis=1))
        return windows, rms

    def finish(self) -> SpeechFeatures:
        """Judge the tail (padded with silence) and close the open segment; no more audio
        may be fed. A batched detector's windows must have been judged before."""
        if not self._finished:
            self._finished = True
            if self._pending_size % CHUNK:
                self._pending.append(np.zeros(CHUNK - self._pending_size % CHUNK, dtype=np.int16))
                self._pending_size += CHUNK - self._pending_size % CHUNK
            judge_windows([self])
            self._close_segment()
        return self.features()

    def copy(self) -> SpeechDetector:
        """An independent copy of the measurements so far: its features() may be computed
        in another thread while this detector is fed on."""
        other = copy.copy(self)
        other._cue = self._cue.copy() if self._cue is not None else None
        other._leaning = list(self._leaning)
        other._pending = list(self._pending)
        other._finished = True
        return other

    def features(self, cue_below: float | None = None) -> SpeechFeatures:
        """The numbers so far; an open segment counts if it already holds enough speech.
        With `cue_below`, the second cue is measured only while Silero's speech is under
        it (the cue is evidence for a caller Silero did not hear speak; for one it did, it
        changes no verdict and costs the most CPU of a report): 0 then."""
        speech, segments, first = self._speech_chunks, self._segments, self._first_speech
        if self._in_segment and self._segment_speech >= _MIN_SEGMENT_CHUNKS:
            speech += self._segment_speech
            segments += 1
            first = first if first is not None else self._segment_start * CHUNK_SECONDS
        spoke = cue_below is not None and speech * CHUNK_SECONDS >= cue_below
        return SpeechFeatures(
            audio_seconds=self._chunks * CHUNK_SECONDS,
            speech_seconds=speech * CHUNK_SECONDS,
            speech_segments=segments,
            first_speech_seconds=first,
            sound_seconds=self._sound_chunks * CHUNK_SECONDS,
            cue_speech_seconds=0.0 if spoke else self._cue_seconds(),
        )

    def _cue_seconds(self) -> float:
        if self._cue is None:
            return 0.0
        return self._cue.seconds(np.asarray(self._leaning, dtype=np.float32), CHUNK_SECONDS)

    def judge(self, probability: float, rms: float) -> None:
        """Silero's probability for the next window (0 for one under the silence gate)."""
        index = self._chunks
        self._chunks += 1
        self._leaning.append(probability)
        if probability >= SPEECH_ON:
            if not self._in_segment:
                self._in_segment, self._segment_start, self._segment_speech = True, index, 0
            self._segment_speech += 1
            self._quiet_run = 0
            return
        if rms > _NOISE_FLOOR_RMS:
            self._sound_chunks += 1
        if self._in_segment and probability < SPEECH_OFF:
            self._quiet_run += 1
            if self._quiet_run > _HANGOVER_CHUNKS:
                self._close_segment()

    def _close_segment(self) -> None:
        if self._in_segment and self._segment_speech >= _MIN_SEGMENT_CHUNKS:
            self._segments += 1
            self._speech_chunks += self._segment_speech
            if self._first_speech is None:
                self._first_speech = self._segment_start * CHUNK_SECONDS
        self._in_segment, self._segment_speech, self._quiet_run = False, 0, 0
