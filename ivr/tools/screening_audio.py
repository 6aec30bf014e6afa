"""The sounds of the screening corpus: speech (espeak-ng), the noises and tones a caller's
line may carry, and what the telephone network does to them (A-law, lost packets).

Rules:
- Everything is synthesised here (espeak-ng and numpy; nothing downloaded); the same
  arguments and seed always give the same samples.
- Samples are float64 at 8 kHz in [-1, 1]; levels are the RMS of the active part (20 ms
  frames within ACTIVE_RANGE_DB of the loudest), in dB full scale, so a word, a whisper and
  a steady hum at "-30 dBFS" sound equally loud while they sound.
- Acoustic sounds (a voice, a street, music) pass the handset's band (HANDSET_BAND);
  line sounds (mains hum, hiss, DTMF, ringback) are added after it and keep their lows.
"""

from __future__ import annotations

import functools
import io
import subprocess
import wave

import numpy as np
import soxr

RATE = 8000
FRAME = 160  # 20 ms
ACTIVE_RANGE_DB = 30.0
HANDSET_BAND = (250.0, 3500.0)
DTMF_LOW = {"1": 697, "2": 697, "3": 697, "4": 770, "5": 770, "6": 770, "7": 852, "8": 852, "9": 852,
            "*": 941, "0": 941, "#": 941}  # fmt: skip
DTMF_HIGH = {"1": 1209, "2": 1336, "3": 1477, "4": 1209, "5": 1336, "6": 1477, "7": 1209, "8": 1336,
             "9": 1477, "*": 1209, "0": 1336, "#": 1477}  # fmt: skip


@functools.lru_cache(maxsize=512)
def _espeak(text: str, voice: str, speed: int, pitch: int) -> bytes:
    args = ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text]
    return subprocess.run(args, check=True, capture_output=True).stdout


def speak(text: str, voice: str, speed: int = 150, pitch: int = 50) -> np.ndarray:
    """`text` said by espeak-ng `voice` (e.g. "id+f3", "ms+whisper"), at 8 kHz, the silence
    around it trimmed, through the handset's band."""
    with wave.open(io.BytesIO(_espeak(text, voice, speed, pitch))) as w:
        rate = w.getframerate()
        raw = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768
    samples = band(soxr.resample(raw, rate, RATE), *HANDSET_BAND)
    loud = np.flatnonzero(np.abs(samples) > 1e-3)
    return samples[loud[0] : loud[-1] + 1] if loud.size else samples


def band(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """`x` with what lies outside low..high Hz removed (smooth 50 Hz edges)."""
    spectrum = np.fft.rfft(x)
    hz = np.fft.rfftfreq(x.size, 1 / RATE)
    gain = np.clip((hz - low + 50) / 100, 0, 1) * np.clip((high + 50 - hz) / 100, 0, 1)
    return np.fft.irfft(spectrum * gain, x.size)


def active_rms(x: np.ndarray) -> float:
    frames = x[: x.size - x.size % FRAME].reshape(-1, FRAME)
    energy = np.mean(frames**2, axis=1)
    if not energy.size or energy.max() <= 0:
        return 0.0
    active = energy[energy >= energy.max() * 10 ** (-ACTIVE_RANGE_DB / 10)]
    return float(np.sqrt(np.mean(active)))


def at_level(x: np.ndarray, dbfs: float) -> np.ndarray:
    rms = active_rms(x)
    return x * (10 ** (dbfs / 20) / rms) if rms > 0 else x


# ---- line sounds (after the handset) --------------------------------------------------------


def hiss(n: int, rng: np.random.Generator) -> np.ndarray:
    """Steady line hiss: white or pink."""
    white = rng.standard_normal(n)
    if rng.random() < 0.5:
        return white
    spectrum = np.fft.rfft(white)
    hz = np.fft.rfftfreq(n, 1 / RATE)
    return np.fft.irfft(spectrum / np.sqrt(np.maximum(hz, 20.0)), n)


def hum(n: int, rng: np.random.Generator) -> np.ndarray:
    """Mains hum: 50 Hz and its harmonics; sometimes a buzz rich in odd harmonics."""
    t = np.arange(n) / RATE
    base = 50.0 * (1 + rng.uniform(-0.004, 0.004))
    buzz = rng.random() < 0.5
    out = np.zeros(n)
    for k in range(1, 40 if buzz else 8):
        weight = (1.0 / k if k % 2 else 0.3 / k) if buzz else 1.0 / k**1.5
        out += weight * np.sin(2 * np.pi * base * k * t + rng.uniform(0, 2 * np.pi))
    return out * (1 + 0.05 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t))


def ringback(n: int, rng: np.random.Generator) -> np.ndarray:
    """Ringback heard on the line: Indonesia's 425 Hz 1 s on / 4 s off, or 400+450 Hz
    0.4 on, 0.2 off, 0.4 on, 2 off; starting anywhere in its cadence."""
    t = np.arange(n) / RATE
    if rng.random() < 0.6:
        tone = np.sin(2 * np.pi * 425 * t)
        period, on = 5.0, [(0.0, 1.0)]
    else:
        tone = np.sin(2 * np.pi * 400 * t) + np.sin(2 * np.pi * 450 * t)
        period, on = 3.0, [(0.0, 0.4), (0.6, 1.0)]
    phase = (t + rng.uniform(0, period)) % period
    gate = np.zeros(n)
    for start, end in on:
        gate[(phase >= start) & (phase < end)] = 1.0
    return tone * gate


def dtmf(n: int, rng: np.random.Generator) -> np.ndarray:
    """Keys pressed now and then (never 5 twice in a row: that would be the emergency code)."""
    out = np.zeros(n)
    at = int(rng.uniform(0.2, 2.0) * RATE)
    last = ""
    while at < n:
        key = str(rng.choice(list("1234567890*#")))
        if key == last == "5":
            continue
        length = int(rng.uniform(0.08, 0.25) * RATE)
        t = np.arange(min(length, n - at)) / RATE
        out[at : at + t.size] = np.sin(2 * np.pi * DTMF_LOW[key] * t) + 0.8 * np.sin(
            2 * np.pi * DTMF_HIGH[key] * t
        )
        at += length + int(rng.uniform(0.1, 1.5) * RATE)
        last = key
    return out


# ---- acoustic sounds (through the handset) --------------------------------------------------


def _noise_burst(length: int, rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    return band(rng.standard_normal(max(length, 64)), low, high)[:length]


def _smooth_envelope(n: int, rng: np.random.Generator, seconds: float) -> np.ndarray:
    """A positive random envelope varying on the scale of `seconds`."""
    steps = max(2, int(n / RATE / seconds) + 2)
    points = np.exp(rng.normal(0, 0.6, steps))
    return np.interp(np.arange(n), np.linspace(0, n, steps), points)


def street(n: int, rng: np.random.Generator) -> np.ndarray:
    """Traffic: a low rumble, cars passing, an idling engine, now and then a horn."""
    t = np.arange(n) / RATE
    out = band(np.cumsum(rng.standard_normal(n)), 30, 600)
    out /= np.std(out) + 1e-12
    for _ in range(int(rng.integers(1, 5))):
        centre, width = rng.uniform(0, n / RATE), rng.uniform(0.8, 3.0)
        swell = np.exp(-0.5 * ((t - centre) / width) ** 2)
        out += 2.0 * swell * band(rng.standard_normal(n), 100, 2500)
    engine = rng.uniform(25, 45)
    out += 0.6 * sum(np.sin(2 * np.pi * engine * k * t + rng.uniform(0, 6)) / k for k in range(1, 6))
    if rng.random() < 0.5:  # a horn: one or two beeps
        at = rng.uniform(0, n / RATE - 1)
        for beep in range(int(rng.integers(1, 3))):
            start = int((at + beep * 0.5) * RATE)
            length = min(int(rng.uniform(0.2, 0.5) * RATE), n - start)
            tt = np.arange(length) / RATE
            horn = sum(np.sin(2 * np.pi * f * k * tt) / k for f in (420, 520) for k in (1, 2, 3))
            out[start : start + length] += 1.5 * horn
    return out


def rain(n: int, rng: np.random.Generator) -> np.ndarray:
    """Rain: a hiss of many small drops and the louder clicks of nearby ones."""
    out = 0.4 * band(rng.standard_normal(n), 400, 4000)
    drops = rng.integers(0, n, int(rng.uniform(40, 250) * n / RATE))
    decay = np.exp(-np.arange(40) / rng.uniform(4, 12))
    impulses = np.zeros(n)
    impulses[drops] = rng.lognormal(0, 0.8, drops.size) * rng.choice([-1, 1], drops.size)
    out += 3.0 * band(np.convolve(impulses, decay * rng.standard_normal(40), mode="same"), 300, 4000)
    return out


def wind(n: int, rng: np.random.Generator) -> np.ndarray:
    """Wind on the microphone: low rumble in gusts."""
    low = band(rng.standard_normal(n), 20, rng.uniform(300, 900))
    return low * _smooth_envelope(n, rng, rng.uniform(0.3, 1.5)) ** 1.5


def pocket(n: int, rng: np.random.Generator) -> np.ndarray:
    """A phone in a pocket or bag: rustling cloth in bursts, footsteps."""
    out = 0.05 * band(rng.standard_normal(n), 200, 3000)
    at = int(rng.uniform(0, 1) * RATE)
    while at < n:
        length = min(int(rng.uniform(0.05, 0.6) * RATE), n - at)
        flutter = np.abs(band(rng.standard_normal(length + 64), 5, 60)[:length])
        shape = np.hanning(length) * (0.3 + flutter / (flutter.max() + 1e-12))
        out[at : at + length] += rng.uniform(0.3, 1.0) * shape * _noise_burst(length, rng, 300, 3200)
        at += length + int(rng.exponential(0.5) * RATE)
    step = rng.uniform(0.45, 0.7)
    thump = np.exp(-np.arange(800) / 150) * np.sin(2 * np.pi * 70 * np.arange(800) / RATE)
    for start in np.arange(rng.uniform(0, step), n / RATE - 0.1, step):
        i = int(start * RATE)
        out[i : i + 800] += 0.5 * thump[: n - i]
    return out


def _note(freq: float, seconds: float, harmonics: int, attack: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    tone = sum(np.sin(2 * np.pi * freq * k * t) / k**1.2 for k in range(1, harmonics + 1) if freq * k < 3800)
    envelope = (
        np.minimum(1, t / attack) * np.exp(-t / (seconds * 2)) * np.minimum(1, (t[-1] - t + 1e-3) / 0.05)
    )
    return np.asarray(tone * envelope)


def music(n: int, rng: np.random.Generator, beat: bool = False) -> np.ndarray:
    """Instrumental music: a melody over sustained chords; with `beat`, drums too."""
    out = np.zeros(n)
    scale = [0, 2, 4, 7, 9, 12, 14, 16]
    root = rng.uniform(180, 330)
    beat_s = 60 / rng.uniform(80, 140)
    at, step = 0.0, int(rng.integers(0, len(scale)))
    while at < n / RATE:
        length = beat_s * float(rng.choice([0.5, 1, 1, 2]))
        step = int(np.clip(step + rng.integers(-2, 3), 0, len(scale) - 1))
        note = _note(root * 2 ** (scale[step] / 12), length, 6, 0.015)
        i = int(at * RATE)
        out[i : i + note.size] += note[: n - i]
        at += length
    for bar in np.arange(0, n / RATE, 4 * beat_s):  # chords, softer, each a bar long
        chord_root = root / 2 * 2 ** (float(rng.choice([0, 5, 7, 9])) / 12)
        for interval in (0, 4, 7):
            note = 0.35 * _note(chord_root * 2 ** (interval / 12), 4 * beat_s, 4, 0.15)
            i = int(bar * RATE)
            out[i : i + note.size] += note[: n - i]
    if beat:
        kick = np.sin(2 * np.pi * np.cumsum(np.linspace(90, 45, 1200)) / RATE) * np.exp(
            -np.arange(1200) / 300
        )
        for k, when in enumerate(np.arange(0, n / RATE, beat_s / 2)):
            i = int(when * RATE)
            if k % 2 == 0:
                out[i : i + kick.size] += 1.2 * kick[: n - i]
            hat = _noise_burst(320, rng, 2500, 4000) * np.exp(-np.arange(320) / 60)
            out[i : i + hat.size] += 0.6 * hat[: n - i]
            if k % 4 == 2:
                snare = _noise_burst(1000, rng, 300, 3500) * np.exp(-np.arange(1000) / 250)
                out[i : i + snare.size] += 0.9 * snare[: n - i]
    return out


@functools.lru_cache(maxsize=4)
def _talkers(lines: tuple[str, ...], talkers: int) -> tuple[np.ndarray, ...]:
    """Each talker's track: every line once, in its own order, voice and pace."""
    voices = ["id", "id+m3", "id+f2", "ms+m1", "ms+f4", "en+m7", "en+f3", "id+m5", "ms", "id+f5"]
    rng = np.random.default_rng(len(lines) * 1000 + talkers)
    tracks = []
    for k in range(talkers):
        voice, speed = voices[k % len(voices)], (140, 160, 180)[k % 3]
        parts = [at_level(speak(lines[i], voice, speed), -30) for i in rng.permutation(len(lines))]
        gaps = [np.zeros(int(rng.uniform(0.05, 0.4) * RATE)) for _ in parts]
        tracks.append(np.concatenate([x for pair in zip(parts, gaps, strict=True) for x in pair]))
    return tuple(tracks)


def babble(n: int, rng: np.random.Generator, lines: tuple[str, ...], talkers: int = 14) -> np.ndarray:
    """A crowd: `talkers` voices each saying `lines` in a loop, from random points, mixed
    at equal levels, so that no single talker can be followed."""
    out = np.zeros(n)
    for track in _talkers(lines, talkers):
        looped = np.tile(track, n // track.size + 2)
        offset = int(rng.integers(0, looped.size - n))
        out += looped[offset : offset + n]
    return out


# ---- the network ----------------------------------------------------------------------------


def to_int16(x: np.ndarray) -> np.ndarray:
    return np.asarray(np.round(np.clip(x, -1, 32767 / 32768) * 32768), dtype=np.int16)


def alaw_round_trip(pcm: np.ndarray) -> np.ndarray:
    """16-bit samples through G.711 A-law and back (what a trunk using PCMA does)."""
    magnitude = np.minimum(np.abs(pcm.astype(np.int32)) >> 3, 4095)  # 13-bit
    exponent = np.floor(np.log2(np.maximum(magnitude, 1))).astype(np.int32)
    step = np.where(magnitude < 64, 2, 2 ** np.maximum(exponent - 4, 1))
    decoded = (magnitude // step) * step + step // 2
    return np.asarray(np.where(pcm < 0, -decoded, decoded) * 8, dtype=np.int16)


def lose_packets(pcm: np.ndarray, percent: float, rng: np.random.Generator) -> np.ndarray:
    """Whole 20 ms frames dropped (silence in their place), `percent` of them at random."""
    out = pcm.copy()
    frames = out.size // FRAME
    lost = rng.random(frames) < percent / 100
    for i in np.flatnonzero(lost):
        out[i * FRAME : (i + 1) * FRAME] = 0
    return out
