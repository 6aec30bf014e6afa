"""Generates the labelled screening corpus: 8 kHz mono 16-bit WAV files, 6 s each (the
default screening budget), one folder per expected verdict.

  normal/   Indonesian speech (espeak-ng), clean and with street-like noise at 10 and 5 dB SNR
  prank/    music-like note sequences, noise bursts, laughter-like bursts
  silent/   digital silence, low line hiss, a few DTMF key tones

Rules: everything is synthesised here with espeak-ng and sox (nothing downloaded);
the same arguments always give the same files (fixed seeds and texts).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

SECONDS = 6
RATE = 8000
SPEECH = {
    "kebakaran": "Tolong, ada kebakaran di Mandonga. Rumah saya terbakar, cepat kirim pemadam.",
    "kecelakaan": "Halo, ada kecelakaan di Jalan Saranani. Ada orang luka, tolong kirim ambulans.",
    "banjir": "Air sudah masuk rumah, banjir di Kambu. Kami butuh bantuan sekarang.",
}
NOTES = ["440", "494", "523", "587", "659", "698", "784", "880"]


def _sox(*args: str) -> None:
    subprocess.run(["sox", *args], check=True, capture_output=True)


def _fit(src: Path, dst: Path, *effects: str) -> None:
    """Convert to the corpus format, padded or trimmed to SECONDS."""
    _sox(str(src), "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer", str(dst),
         *effects, "pad", "0", str(SECONDS), "trim", "0", str(SECONDS))  # fmt: skip


def _synth(dst: Path, seconds: float, *spec: str) -> None:
    _sox("-n", "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer", str(dst),
         "synth", str(seconds), *spec)  # fmt: skip


def generate(folder: Path) -> list[Path]:
    made: list[Path] = []
    for label in ("normal", "prank", "silent"):
        (folder / label).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        noise = tmp / "noise.wav"
        _synth(noise, SECONDS, "brownnoise", "vol", "0.9")
        for name, text in SPEECH.items():
            raw = tmp / f"{name}.wav"
            subprocess.run(["espeak-ng", "-v", "id", "-s", "150", "-w", str(raw), text], check=True)
            clean = folder / "normal" / f"{name}_clean.wav"
            _fit(raw, clean, "pad", "0.5", "0", "norm", "-3")
            made.append(clean)
            for snr_db in (10, 5):
                noisy = folder / "normal" / f"{name}_snr{snr_db}.wav"
                scaled = tmp / f"noise_{snr_db}.wav"
                _sox(str(noise), str(scaled), "norm", str(-3 - snr_db))
                _sox("-m", str(clean), str(scaled), str(noisy), "norm", "-3")
                made.append(noisy)
        for index in range(3):  # music-like: a melody of sine notes with a little harmony
            notes = [NOTES[(index * 3 + k * 5) % len(NOTES)] for k in range(12)]
            parts = []
            for k, freq in enumerate(notes):
                part = tmp / f"m{index}_{k}.wav"
                _synth(
                    part,
                    0.5,
                    "sine",
                    freq,
                    "sine",
                    str(int(freq) * 3 // 2),
                    "remix",
                    "-",
                    "fade",
                    "0.02",
                    "0.5",
                    "0.05",
                )
                parts.append(str(part))
            music = folder / "prank" / f"music_{index}.wav"
            _sox(*parts, str(music), "norm", "-6")
            made.append(music)
        for index, colour in enumerate(("whitenoise", "pinknoise")):  # noise bursts
            burst = tmp / f"burst_{index}.wav"
            _synth(burst, 0.6, colour, "fade", "0.05", "0.6", "0.1")
            gap = tmp / "gap.wav"
            _synth(gap, 0.4, "sine", "0", "vol", "0")
            bursts = folder / "prank" / f"noise_bursts_{index}.wav"
            _sox(*([str(burst), str(gap)] * 6), str(bursts), "norm", "-6")
            made.append(bursts)
        laugh_parts = []  # laughter-like: short voiced "ha" pulses, pitch gliding down
        for k in range(10):
            pulse = tmp / f"ha_{k}.wav"
            top = 420 - k * 12
            _synth(
                pulse,
                0.18,
                "sawtooth",
                f"{top}:{top - 60}",
                "sine",
                "0",
                "lowpass",
                "1800",
                "fade",
                "0.01",
                "0.18",
                "0.06",
            )
            pause = tmp / f"hp_{k}.wav"
            _synth(pause, 0.12, "sine", "0", "vol", "0")
            laugh_parts += [str(pulse), str(pause)]
        laughter = folder / "prank" / "laughter.wav"
        _sox(*laugh_parts, str(laughter), "norm", "-6", "repeat", "1")
        made.append(laughter)
        silence = folder / "silent" / "silence.wav"
        _synth(silence, SECONDS, "sine", "0", "vol", "0")
        hiss = folder / "silent" / "hiss.wav"
        _synth(hiss, SECONDS, "whitenoise", "vol", "0.004")
        dtmf_parts = []
        for low, high in (("770", "1336"), ("770", "1336"), ("941", "1336")):  # 5, 5, 0
            tone = tmp / f"dtmf_{low}_{high}.wav"
            _synth(tone, 0.15, "sine", low, "sine", high, "remix", "-", "vol", "0.4")
            quiet = tmp / "dq.wav"
            _synth(quiet, 0.6, "whitenoise", "vol", "0.003")
            dtmf_parts += [str(tone), str(quiet)]
        dtmf = folder / "silent" / "dtmf_tones.wav"
        _sox(*dtmf_parts, str(dtmf), "pad", "0", "4")
        made += [silence, hiss, dtmf]
    for path in made:
        _fit(path, path.with_suffix(".tmp.wav"))
        path.with_suffix(".tmp.wav").replace(path)
    return made
