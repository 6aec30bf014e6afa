"""The labelled screening corpus: 8 kHz mono 16-bit WAV files as long as the screener
listens to a caller (the greeting, then 6 s), labelled by what the caller needs.

  genuine/    someone speaks: Indonesian, Malay and English espeak-ng voices (male, female,
              whispered), a full sentence or one short word, at -12 to -40 dBFS, starting
              anywhere from 0 to 12 s, clean or in street, babble, rain, music, hum, hiss or
              wind noise at 0-20 dB SNR
  no-speech/  nobody speaks: silence, hiss, mains hum, ringback, DTMF keys, music, street,
              babble (a crowd), rain, wind, a phone in a pocket

Every clip may also pass an A-law round trip and lose 1-5 % of its 20 ms packets. The file
name holds the category, one part per underscore (see name()); screening eval groups by it.

Rules:
- Three splits with nothing in common but the recipe: "test" (the corpus, held out: report
  on it, never tune on it), "dev" (other seeds, other sentences and words, other noise
  instances, and HARD_WORDS extra single words under loud noise: choose thresholds on it)
  and "confirm" (the same shape as dev with its own seeds, texts and words: written after a
  design change is settled and run once, for when the test split's failures were studied).
- Deterministic: a clip's samples depend only on its Clip (the seed is in it).
- render_clip() writes one clip anywhere (tests, the real-stack SIPp audio); generate()
  writes a whole split.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ivr.tools import screening_audio as audio

GREETING_SECONDS = 7.6  # the recorded greeting (prompts/id.tsv) as synthesised: 7.57 s
# Heard after the greeting: the first report comes budget_seconds after it, the second when
# the press-55 prompt (12 s) goes unanswered; a clip stops earlier, which only makes
# screening's job harder.
AFTER_GREETING_SECONDS = 6.0
CLIP_SECONDS = GREETING_SECONDS + AFTER_GREETING_SECONDS
SPLIT_SEED = {"test": 1_000_000, "dev": 2_000_000, "confirm": 3_000_000}
GENUINE = {"test": 270, "dev": 180, "confirm": 180}
HARD_WORDS = {
    "test": 0,
    "dev": 96,
    "confirm": 96,
}  # extra single words in loud noise, to tune the second cue on
NO_SPEECH = {"test": 11, "dev": 8, "confirm": 8}  # clips of each no-speech kind (silence: half as many)
NO_SPEECH_KINDS = ("silence", "hiss", "hum", "ringback", "dtmf", "music", "music-beat", "street", "babble",
                   "rain", "wind", "pocket")  # fmt: skip
NOISES = ("street", "babble", "rain", "music", "music-beat", "hum", "hiss", "wind")
LINE_NOISES = ("hum", "hiss", "dtmf", "ringback")  # added after the handset
LEVELS = (-12, -20, -28, -35, -40)
SNRS = (0, 5, 10, 15, 20)
STARTS = (0, 1, 2, 4, 6, 8, 10, 12)
SPEEDS = (120, 150, 180)
LOSSES = (1, 3, 5)
VOICED = ("base", "m1", "m3", "m5", "m7", "f1", "f2", "f3", "f4", "f5")  # espeak-ng variants
WHISPERS = ("whisper", "whisperf")

SENTENCES = {
    "test": {
        "id": (
            "Tolong, ada kebakaran di Mandonga. Rumah saya terbakar, cepat kirim pemadam.",
            "Halo, ada kecelakaan di Jalan Saranani. Ada orang luka, tolong kirim ambulans.",
            "Air sudah masuk rumah, banjir di Kambu. Kami butuh bantuan sekarang.",
            "Ada orang masuk ke rumah saya, saya sembunyi di kamar. Tolong cepat datang.",
            "Ibu saya pingsan dan tidak bernapas. Alamatnya di Lorong Mawar nomor tujuh.",
            "Ada perkelahian di depan pasar, satu orang ditikam. Tolong kirim polisi.",
        ),
        "ms": (
            "Tolong, rumah saya terbakar. Hantar bomba segera ke Jalan Bunga Raya.",
            "Ada kemalangan jalan raya di sini, dua orang cedera teruk.",
            "Suami saya sakit dada dan tidak boleh bangun. Tolong hantar ambulans.",
            "Ada pencuri dalam rumah. Saya takut, tolong datang cepat.",
        ),
        "en": (
            "Help, there is a fire in the house next door and people are still inside.",
            "My father collapsed and he is not breathing. Please send an ambulance.",
            "Someone broke into my house, I am hiding in the bathroom. Please hurry.",
            "There was a crash on the main road, a motorbike and a truck.",
        ),
    },
    "dev": {
        "id": (
            "Selamat malam, ada pohon tumbang menimpa mobil di Jalan Ahmad Yani.",
            "Anak saya jatuh dari tangga, kepalanya berdarah. Kami di Kelurahan Wua Wua.",
            "Tetangga saya berteriak minta tolong, sepertinya ada perampokan.",
            "Kapal nelayan terbalik dekat pelabuhan, ada tiga orang di air.",
        ),
        "ms": (
            "Saya nampak asap tebal dari kilang di hujung jalan ini.",
            "Anak saya hilang di pasar malam sejak sejam tadi.",
            "Ada lelaki membawa parang mengugut orang ramai di sini.",
        ),
        "en": (
            "There is smoke coming out of the school building on Elm Street.",
            "A child fell into the river near the bridge, please come quickly.",
            "I think my neighbour is having a stroke, she cannot speak.",
        ),
    },
    "confirm": {
        "id": (
            "Ada rumah roboh karena gempa di Poasia, orang terjebak di dalam.",
            "Saya dipukul orang di jalan, sekarang saya berdarah. Tolong kirim polisi.",
            "Motor saya ditabrak mobil di Jalan Abdullah Silondae, kaki saya patah.",
            "Tanah longsor menutup jalan di Kendari Barat, ada mobil tertimbun.",
        ),
        "ms": (
            "Kebakaran besar di kedai runcit sebelah rumah saya, api merebak.",
            "Nenek saya terjatuh di bilik air dan tidak sedarkan diri.",
            "Ada budak lemas di kolam, tolong hantar bantuan segera.",
        ),
        "en": (
            "The water is rising fast and we are stuck on the roof with two children.",
            "A man is lying on the road and is not moving, please send someone.",
            "My wife is in labour and the bleeding will not stop.",
        ),
    },
}
WORDS = {
    "test": {"id": ("Tolong!", "Polisi!", "Api!", "Kebakaran!"), "ms": ("Tolong!", "Bomba!", "Polis!"),
             "en": ("Help!", "Fire!", "Ambulance!")},
    "dev": {"id": ("Bantu!", "Maling!", "Cepat!"), "ms": ("Cepat!", "Kecemasan!"),
            "en": ("Hurry!", "Police!")},
    "confirm": {"id": ("Darurat!", "Ambulans!", "Banjir!"), "ms": ("Lemas!", "Rompak!"),
                "en": ("Please!", "Emergency!")},
}  # fmt: skip
BABBLE_LINES = {
    "test": ("Kemarin saya pergi ke pasar membeli ikan dan sayur untuk makan malam.",
             "The meeting was moved to Thursday afternoon because of the holiday.",
             "Harga beras naik lagi bulan ini, semua orang mengeluh di warung.",
             "Dia bilang akan datang jam tujuh tapi belum ada kabar sampai sekarang.",
             "Kami bercadang untuk bercuti ke pantai pada hujung minggu ini."),
    "dev": ("Cuaca hari ini cerah sekali, anak-anak bermain di lapangan sepak bola.",
            "I told him the bus leaves at half past eight from the station.",
            "Kedai kopi di simpang jalan itu selalu penuh setiap pagi.",
            "Besok ada rapat warga di balai desa membahas jalan yang rusak."),
    "confirm": ("Tolong belikan gula dan kopi kalau lewat toko di depan.",
                "The weather report says it will rain again tomorrow morning.",
                "Anak saya baru saja lulus sekolah dan ingin kuliah di Makassar.",
                "Saya sudah menunggu bus hampir satu jam di halte ini."),
}  # fmt: skip


@dataclass(frozen=True)
class Clip:
    """One clip. kind: sentence|word for genuine clips, a NO_SPEECH_KINDS entry otherwise."""

    kind: str
    seed: int
    level: int = -20  # dBFS of the speech, or of the sound for a no-speech clip
    lang: str = "id"
    variant: str = "base"  # espeak-ng voice variant; whisper, whisperf are whispered
    speed: int = 150
    text: str = ""
    start: float = 1.0  # seconds into the window the speech starts
    noise: str = ""  # under speech: a NOISES entry, "" for clean
    snr: int = 10
    alaw: bool = False
    loss: int = 0  # percent of 20 ms packets lost
    split: str = "test"
    index: int = 0

    @property
    def genuine(self) -> bool:
        return self.kind in ("sentence", "word")


def name(clip: Clip) -> str:
    """The file name, e.g. word_id-whisperf_s150_-35dBFS_late8s_babble5dB_alaw_loss3_042.wav."""
    parts = [clip.kind]
    if clip.genuine:
        parts += [
            f"{clip.lang}-{clip.variant}",
            f"s{clip.speed}",
            f"{clip.level}dBFS",
            f"late{clip.start:g}s",
        ]
        parts.append(f"{clip.noise}{clip.snr}dB" if clip.noise else "clean")
    elif clip.kind != "silence":
        parts.append(f"{clip.level}dBFS")
    parts += ["alaw" if clip.alaw else "pcm", f"loss{clip.loss}", f"{clip.index:03d}"]
    return "_".join(parts) + ".wav"


def _noise(kind: str, n: int, rng: np.random.Generator, split: str) -> np.ndarray:
    if kind == "babble":
        return audio.babble(n, rng, BABBLE_LINES[split])
    if kind in ("music", "music-beat"):
        return audio.music(n, rng, beat=kind == "music-beat")
    maker = {"street": audio.street, "rain": audio.rain, "wind": audio.wind, "pocket": audio.pocket,
             "hum": audio.hum, "hiss": audio.hiss, "dtmf": audio.dtmf,
             "ringback": audio.ringback}  # fmt: skip
    return maker[kind](n, rng)


def samples(clip: Clip, seconds: float = CLIP_SECONDS) -> np.ndarray:
    """The clip's 16-bit samples, as the screener would receive them."""
    n = round(seconds * audio.RATE)
    rng = np.random.default_rng(clip.seed)
    out = np.zeros(n)
    if clip.genuine:
        voice = clip.lang if clip.variant == "base" else f"{clip.lang}+{clip.variant}"
        speech = audio.at_level(audio.speak(clip.text, voice, clip.speed), clip.level)
        at = round(clip.start * audio.RATE)
        out[at : at + speech.size] = speech[: n - at]
        if clip.noise:
            noise = _noise(clip.noise, n, rng, clip.split)
            if clip.noise not in LINE_NOISES:
                noise = audio.band(noise, *audio.HANDSET_BAND)
            out += audio.at_level(noise, clip.level - clip.snr)
    elif clip.kind != "silence":
        sound = _noise(clip.kind, n, rng, clip.split)
        if clip.kind not in LINE_NOISES:
            sound = audio.band(sound, *audio.HANDSET_BAND)
        out = audio.at_level(sound, clip.level)
    pcm = audio.to_int16(out)
    if clip.alaw:
        pcm = audio.alaw_round_trip(pcm)
    if clip.loss:
        pcm = audio.lose_packets(pcm, clip.loss, rng)
    return pcm


def write_wav(path: Path, pcm: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(audio.RATE)
        w.writeframes(pcm.astype("<i2").tobytes())
    return path


def render(clip: Clip, folder: Path, seconds: float = CLIP_SECONDS) -> Path:
    """Writes `clip` as folder/genuine|no-speech/<name>."""
    label = "genuine" if clip.genuine else "no-speech"
    return write_wav(folder / label / name(clip), samples(clip, seconds))


EXAMPLES = {
    "whisper": Clip("sentence", 11, level=-30, variant="whisper", text=SENTENCES["test"]["id"][3]),
    "word": Clip("word", 12, level=-30, variant="f3", text="Tolong!", start=2.0),
    "sentence": Clip("sentence", 13, level=-20, text=SENTENCES["test"]["id"][0]),
    "quiet": Clip("sentence", 14, level=-40, variant="m3", text=SENTENCES["test"]["id"][1]),
}


def render_clip(category: str, path: Path, seconds: float = CLIP_SECONDS, seed: int = 0) -> Path:
    """One clip of a named category written to `path` (a .wav file), for tests and SIPp:
    a genuine EXAMPLES entry (whisper, word, sentence, quiet) or a no-speech kind (hum,
    hiss, music, pocket, ...) at -30 dBFS."""
    if category in EXAMPLES:
        clip = replace(EXAMPLES[category], seed=EXAMPLES[category].seed + seed)
    elif category in NO_SPEECH_KINDS:
        clip = Clip(category, 21 + seed, level=-30)
    else:
        raise ValueError(f"unknown category {category!r}: one of {', '.join([*EXAMPLES, *NO_SPEECH_KINDS])}")
    return write_wav(path, samples(clip, seconds))


def plan(split: str = "test") -> list[Clip]:
    """Every clip of a split; the choices are drawn from the split's own seed."""
    if split not in SPLIT_SEED:
        raise ValueError(f"unknown split {split!r}: {', '.join(SPLIT_SEED)}")
    rng = np.random.default_rng(SPLIT_SEED[split])
    clips: list[Clip] = []
    langs = ("id", "id", "ms", "en")
    for i in range(GENUINE[split]):
        lang = langs[i % len(langs)]
        kind = "word" if i % 5 in (1, 3) else "sentence"
        pool = WORDS[split][lang] if kind == "word" else SENTENCES[split][lang]
        start = float(rng.choice(STARTS if kind == "word" else STARTS[:-1]))  # >= 3 s of a sentence heard
        clip = Clip(kind, SPLIT_SEED[split] + i, int(rng.choice(LEVELS)), lang,
                    str(rng.choice(WHISPERS if rng.random() < 0.3 else VOICED)), int(rng.choice(SPEEDS)),
                    str(pool[int(rng.integers(len(pool)))]), start,
                    "" if rng.random() < 0.25 else str(rng.choice(NOISES)), int(rng.choice(SNRS)),
                    bool(rng.random() < 0.5), int(rng.choice(LOSSES)) if rng.random() < 0.4 else 0,
                    split, i)  # fmt: skip
        clips.append(clip)
    index = len(clips)
    for kind in NO_SPEECH_KINDS:
        count = NO_SPEECH[split] // 2 if kind == "silence" else NO_SPEECH[split]
        for _ in range(count):
            level = int(rng.choice((-20, -28, -35, -40, -45)))
            alaw, loss = bool(rng.random() < 0.5), int(rng.choice(LOSSES)) if rng.random() < 0.3 else 0
            clips.append(Clip(kind, SPLIT_SEED[split] + index, level, alaw=alaw, loss=loss, split=split,
                              index=index))  # fmt: skip
            index += 1
    loud = ("street", "music", "music-beat", "babble")
    for _ in range(HARD_WORDS[split]):  # the hard case: one word under street noise, music or a crowd
        lang = langs[index % len(langs)]
        pool = WORDS[split][lang]
        clips.append(Clip("word", SPLIT_SEED[split] + index, int(rng.choice(LEVELS)), lang,
                          str(rng.choice((*VOICED, *WHISPERS))), int(rng.choice(SPEEDS)),
                          str(pool[int(rng.integers(len(pool)))]), float(rng.choice(STARTS)),
                          str(rng.choice(loud)), int(rng.choice((0, 5, 10))),
                          bool(rng.random() < 0.5), 0, split, index))  # fmt: skip
        index += 1
    return clips


def generate(folder: Path, split: str = "test", clips: list[Clip] | None = None) -> list[Path]:
    """Writes a split (or the given clips of it) under folder/genuine and folder/no-speech."""
    return [render(clip, folder) for clip in (plan(split) if clips is None else clips)]
