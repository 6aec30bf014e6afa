"""The second speech cue: voice-like sound that Silero does not call speech (a whisper, a
quiet or far voice, one short word), as seconds.

Rules:
- Input is 8 kHz int16 mono PCM, any length; it is cut into 20 ms frames (an RTP packet)
  from the start of the stream, so the result does not depend on how the audio was cut.
- Each frame's spectrum (300-3400 Hz) is compared with the line's own floor: per band and
  per bin, the FLOOR_PERCENTILE of the frames heard so far, so a steady sound (hum, hiss,
  a steady chord, engine noise) is floor and never a voice, whatever its level. A band's
  floor is also followed locally (the FLOOR_PERCENTILE within LOCAL_FRAMES either side),
  so a word is heard on top of a sound that swelled (a car passing, traffic building up).
- Tones are taken out first: a bin standing MASK_DB above its neighbours in what rose
  (a melody's notes, a horn, ringback) is put back to its floor, so a voice under music
  is still heard. A frame is voice-like when at least two adjacent bands (of BANDS) then
  stand RISE_DB above their floor, averaged over SMOOTH_FRAMES; frames near a signalling
  tone (one or two bins TONE_DB above their neighbours: DTMF, ringback, whose edges
  splatter) or near a lost packet (a short hole of digital silence, whose edges click) are
  not voice-like. Three or more such peaks are a harmonic series (a voiced word on a quiet
  line, or music), never taken for a signalling tone.
- Voice-like frames count in runs of MIN_RUN_FRAMES to MAX_RUN_FRAMES (a syllable to a
  phrase; longer runs are a sound that stays, not a voice) that rise and fall by RISE_DB
  within SURROUND_FRAMES (a slow swell of hum or of a beating tone does not); and so does
  any run of LEANING_RUN_FRAMES voice-like frames where Silero leans towards speech
  (probability LEANING, well under its own threshold): a short word in street noise or
  under music.
- Cheap by design (a 256-point FFT per 20 ms, computed a second at a time, and partial
  sorting of short windows at the end); pure computation: no I/O, no clock.
- The cue is weak evidence: screening uses it only to keep a caller at their level (never
  to move anyone down or up alone). The thresholds were chosen on the corpus's dev split
  and are reported on its held-out test split (docs/architecture.md).
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

RATE = 8000
FRAME = 160  # 20 ms
FFT = 256
RISE_DB = 3.0
TONE_DB = 26.0  # a frame whose risen part holds a tone this prominent is no voice (DTMF, ringback)
MASK_DB = 12.0  # a bin this far above its neighbours is a tone, left out of the bands
SMOOTH_FRAMES = 3
MIN_RUN_FRAMES = 3  # 60 ms
MAX_RUN_FRAMES = 150  # 3 s: a phrase; a sound that stays longer is no voice
SURROUND_FRAMES = 10  # 200 ms either side of a burst
FLOOR_PERCENTILE = 20
LOCAL_FRAMES = 50  # 1 s either side: the span a band's local floor is taken over
EMPTY_DB = -45.0  # a frame's in-band level (this module's scale) below this holds no signal
EMPTY_RANK = 1e6  # where an empty frame ranks in a local floor: above every real level
SIGNAL_TONES = 2  # a frame with this many prominent peaks or fewer holds a signalling tone
FLOOR_MIN_DB = -75.0  # a band quieter than this is at the floor of an empty line
LEANING = 0.1  # Silero's speech probability (8 kHz model) that, on a voice-like frame, counts as a voice
LEANING_RUN_FRAMES = 5  # 100 ms: where Silero leans, a run this long (a short syllable)
BATCH_FRAMES = 50  # 1 s of audio analysed at once
DROPOUT_FRAMES = (1, 3)  # a run of all-zero frames this long is a lost packet, not silence
_HZ = np.fft.rfftfreq(FFT, 1 / RATE)
_IN_BAND = np.flatnonzero((_HZ >= 300) & (_HZ < 3400))
_EDGES = np.geomspace(300, 3400, 9)
BANDS = [np.flatnonzero((_HZ[_IN_BAND] >= lo) & (_HZ[_IN_BAND] < hi)) for lo, hi in pairwise(_EDGES)]
_WINDOW = np.hanning(FFT)  # each 20 ms frame is judged with the 12 ms before it
_NEIGHBOURS = 6  # bins either side a tone must stand above
_TONE_WIDTH = 2  # bins either side of a tone's peak that its window spreads it to


class VoiceCue:
    """One caller's audio in, seconds of voice-like sound out."""

    def __init__(self) -> None:
        self._raw: list[np.ndarray] = []  # samples fed and not yet analysed
        self._raw_size = 0
        self._history = np.zeros(FFT - FRAME, dtype=np.float64)  # the samples before the frame
        self._spectra: list[np.ndarray] = []  # per batch: frames x bins, dB, float32
        self._silent: list[np.ndarray] = []  # per batch: frame is all zeros

    def feed(self, samples: np.ndarray) -> None:
        """Add 8 kHz int16 samples (analysed a second at a time: one FFT call per batch)."""
        self._raw.append(np.asarray(samples, dtype=np.int16).copy())
        self._raw_size += samples.size
        if self._raw_size >= BATCH_FRAMES * FRAME:
            self._analyse()

    def copy(self) -> VoiceCue:
        """An independent copy of what was fed so far (to measure while feeding goes on)."""
        other = VoiceCue.__new__(VoiceCue)
        other._raw, other._raw_size = list(self._raw), self._raw_size  # their arrays are never changed
        other._history = self._history.copy()
        other._spectra, other._silent = list(self._spectra), list(self._silent)
        return other

    def _analyse(self) -> None:
        raw = np.concatenate(self._raw) if self._raw else np.zeros(0, dtype=np.int16)
        whole = raw.size - raw.size % FRAME
        self._raw, self._raw_size = ([raw[whole:]] if whole < raw.size else []), raw.size - whole
        if not whole:
            return
        data = raw[:whole].astype(np.float64) / 32768.0
        frames = data.reshape(-1, FRAME)
        reach = np.concatenate((self._history, data))
        self._history = reach[-(FFT - FRAME) :]
        views = np.lib.stride_tricks.sliding_window_view(reach, FFT)[::FRAME]
        power = np.abs(np.fft.rfft(views * _WINDOW, axis=1)[:, _IN_BAND]) ** 2
        self._spectra.append((10 * np.log10(power + 1e-13)).astype(np.float32))
        self._silent.append(np.asarray(~frames.any(axis=1)))

    def seconds(self, leaning: np.ndarray | None = None, chunk_seconds: float = 0.032) -> float:
        """Seconds of voice-like sound in what was fed so far: the bursts, and the frames
        where `leaning` (Silero's speech probability per chunk of `chunk_seconds`, if
        given) is at least LEANING and the frame is voice-like (above the floor, no tone)."""
        self._analyse()
        if not self._spectra:
            return 0.0
        db = np.concatenate(self._spectra).astype(np.float64)
        if db.shape[0] < 2 * SMOOTH_FRAMES:
            return 0.0
        excess, prominence = _prominence(db)
        rising, level = _rising_bands(_without_tones(db, excess, prominence))
        tonal = _signalling_tone(prominence)
        tonal = np.convolve(tonal.astype(float), np.ones(SMOOTH_FRAMES + 2), mode="same") > 0
        voice = (
            rising & ~tonal & ~_near_dropout(np.concatenate(self._silent)) & ~_near_edges(level < EMPTY_DB)
        )
        voice[:SMOOTH_FRAMES] = False  # the smoothing has nothing before the first frames
        heard = _bursts(voice, level)
        if leaning is not None and leaning.size:
            at = np.minimum(
                ((np.arange(voice.size) + 0.5) * FRAME / RATE / chunk_seconds).astype(int), leaning.size - 1
            )
            heard |= _runs(voice & (leaning[at] >= LEANING), LEANING_RUN_FRAMES)
        return float(heard.sum()) * FRAME / RATE


def _rising_bands(db: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frames with two adjacent bands RISE_DB above their floor; the in-band level (dB)."""
    power = np.stack([np.sum(10 ** (db[:, band] / 10), axis=1) for band in BANDS], axis=1)
    kernel = np.ones(SMOOTH_FRAMES) / SMOOTH_FRAMES
    smooth = np.stack([np.convolve(power[:, k], kernel, mode="same") for k in range(len(BANDS))], axis=1)
    level = 10 * np.log10(smooth + 1e-13)
    total = 10 * np.log10(smooth.sum(axis=1) + 1e-13)
    steady = np.percentile(level, FLOOR_PERCENTILE, axis=0)
    floor = np.maximum(np.maximum(steady, _local_floor(level, total < EMPTY_DB)), FLOOR_MIN_DB)
    up = level - floor >= RISE_DB
    return np.asarray((up[:, :-1] & up[:, 1:]).any(axis=1)), total


def _local_floor(level: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """Per frame and band, the FLOOR_PERCENTILE within LOCAL_FRAMES either side, of the
    frames that hold a signal: `empty` frames (no signal: before the caller's audio
    starts, after it stops) do not lower it, or a steady sound that starts or stops would
    rise above its own edge; a span mostly empty has no local floor (the line's own
    applies). The first and last frames take the first and last whole span's (never a
    copy of themselves: a word at the very start of the call would be its own floor)."""
    span = 2 * LOCAL_FRAMES + 1
    if level.shape[0] < span:
        whole = np.percentile(level, FLOOR_PERCENTILE, axis=0, keepdims=True)
        return np.asarray(whole.repeat(level.shape[0], axis=0))
    held = np.where(empty[:, None], EMPTY_RANK, level)  # empty frames rank above every real one
    spans = np.lib.stride_tricks.sliding_window_view(held, span, axis=0)
    inner = _percentile_last_axis(spans, FLOOR_PERCENTILE)
    filled = np.convolve(~empty, np.ones(span), mode="valid") / span
    inner = np.where(filled[:, None] >= 0.5, inner, -np.inf)
    return np.pad(inner, ((LOCAL_FRAMES, LOCAL_FRAMES), (0, 0)), mode="edge")


def _prominence(db: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What rose above each bin's floor (dB), and how far each bin stands above its
    neighbours in it (a tone stands out; a voice's formants and noise do not).

    The prominence is only ever compared with MASK_DB and TONE_DB (the larger): it is
    exact where it could reach MASK_DB, elsewhere an upper bound that stays below it, so
    the median of the neighbours is taken only for the bins that may stand out (about a
    tenth). The bound: the median of 2N+1 values is at least the lowest of any N+1 of
    them, so at least the larger of the lowest of the N+1 on the left (the bin included)
    and of the N+1 on the right."""
    excess = db - np.maximum(np.percentile(db, FLOOR_PERCENTILE, axis=0), FLOOR_MIN_DB - 15)
    padded = np.pad(excess, ((0, 0), (_NEIGHBOURS, _NEIGHBOURS)), mode="edge")
    bins = excess.shape[1]
    lowest = padded  # the lowest of each run of _NEIGHBOURS + 1 columns, by doubling
    reach = 1
    while reach < _NEIGHBOURS + 1:
        step = min(reach, _NEIGHBOURS + 1 - reach)
        lowest = np.minimum(lowest[:, :-step], lowest[:, step:])
        reach += step
    below_median = np.maximum(lowest[:, :bins], lowest[:, _NEIGHBOURS : _NEIGHBOURS + bins])
    prominence = excess - below_median  # at least the prominence
    frames, columns = np.nonzero(prominence >= MASK_DB)
    if frames.size:
        windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * _NEIGHBOURS + 1, axis=1)
        median = _percentile_last_axis(windows[frames, columns], 50)
        prominence[frames, columns] = excess[frames, columns] - median
    return excess, prominence


def _percentile_last_axis(view: np.ndarray, q: float) -> np.ndarray:
    """np.percentile(view, q, axis=-1) (its linear method: the very same values where the
    rank is whole, as for the cue's windows; within rounding between two ranks) by partial
    sorting of a contiguous copy: several times faster on the short sliding windows here."""
    size = view.shape[-1]
    at = (size - 1) * q / 100
    low, high = int(np.floor(at)), int(np.ceil(at))
    ranked = np.partition(np.ascontiguousarray(view), low if low == high else [low, high], axis=-1)
    below, above = ranked[..., low], ranked[..., high]
    if low == high:
        return np.asarray(below)
    step, part = above - below, at - low  # interpolated from the nearer side, as numpy does
    return np.asarray(below + step * part if part < 0.5 else above - step * (1 - part))


def _signalling_tone(prominence: np.ndarray) -> np.ndarray:
    """Frames holding one to SIGNAL_TONES peaks TONE_DB above their neighbours (DTMF is
    two tones, ringback one or two); a voice's or an instrument's harmonics are more."""
    strong = prominence >= TONE_DB
    starts = strong[:, 1:] & ~strong[:, :-1]
    peaks = starts.sum(axis=1) + strong[:, 0]
    return np.asarray((peaks >= 1) & (peaks <= SIGNAL_TONES))


def _without_tones(db: np.ndarray, excess: np.ndarray, prominence: np.ndarray) -> np.ndarray:
    """The spectra with each tone (and the bins its window spreads it to) put back to the
    bin's floor: a melody, a horn or a ringback tone over a voice leaves the voice."""
    tone = prominence >= MASK_DB
    spread = tone.copy()
    for shift in range(1, _TONE_WIDTH + 1):
        spread[:, shift:] |= tone[:, :-shift]
        spread[:, :-shift] |= tone[:, shift:]
    return np.where(spread, db - excess, db)


def _near_dropout(silent: np.ndarray) -> np.ndarray:
    """Frames within SMOOTH_FRAMES of a short run of all-zero frames (a lost packet)."""
    near = np.zeros(silent.size, dtype=bool)
    edges = np.diff(np.concatenate(([0], silent.astype(np.int8), [0])))
    for start, end in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        if DROPOUT_FRAMES[0] <= end - start <= DROPOUT_FRAMES[1]:
            near[max(0, start - SMOOTH_FRAMES) : end + SMOOTH_FRAMES] = True
    return near


def _near_edges(empty: np.ndarray) -> np.ndarray:
    """Frames within SMOOTH_FRAMES of where the signal starts or stops (the frame that
    holds the step clicks across every band)."""
    steps = np.flatnonzero(np.diff(empty.astype(np.int8)))
    near = np.zeros(empty.size, dtype=bool)
    for step in steps:
        near[max(0, step - SMOOTH_FRAMES) : step + SMOOTH_FRAMES + 2] = True
    return near


def _runs(frames: np.ndarray, least: int) -> np.ndarray:
    """The frames in runs of at least `least` frames (a lone frame is no syllable)."""
    edges = np.diff(np.concatenate(([0], frames.astype(np.int8), [0])))
    kept = np.zeros(frames.size, dtype=bool)
    for start, end in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        if end - start >= least:
            kept[start:end] = True
    return kept


def _bursts(voice: np.ndarray, level: np.ndarray) -> np.ndarray:
    """The frames in runs of voice-like frames MIN_RUN_FRAMES..MAX_RUN_FRAMES long that
    are bursts: their peak stands RISE_DB above the level somewhere within SURROUND_FRAMES
    before and after them (a syllable rises and falls; a slow swell of a steady sound
    does not)."""
    edges = np.diff(np.concatenate(([0], voice.astype(np.int8), [0])))
    bursts = np.zeros(voice.size, dtype=bool)
    for start, end in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        if not MIN_RUN_FRAMES <= end - start <= MAX_RUN_FRAMES:
            continue
        peak = level[start:end].max()
        before = level[max(0, start - SURROUND_FRAMES) : start]
        after = level[end : end + SURROUND_FRAMES]
        rises = before.size == 0 or peak - before.min() >= RISE_DB
        falls = after.size == 0 or peak - after.min() >= RISE_DB
        if rises and falls:
            bursts[start:end] = True
    return bursts
