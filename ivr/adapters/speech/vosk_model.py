"""Checks a Vosk model folder before the control plane relies on it.

Rules:
- Nothing is ever downloaded: the model is a folder given by configuration, loaded with
  Model(path) only (never by language or name).
- Before loading: the folder exists and holds an acoustic model, a feature config and a
  decoding graph; the sample rate comes from conf/mfcc.conf (16 kHz when unset).
- After loading: each configured keyword must be in the model's vocabulary (others are
  dropped, each named in the report); keyword (grammar) mode needs a graph that can be
  recompiled (HCLr.fst + Gr.fst) and an "[unk]" word, otherwise every sound would be
  forced onto a keyword. Without it, keywords are only spotted in the free transcript.
- Every problem is a sentence naming the file or the word; the caller logs them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

UNKNOWN_WORD = "[unk]"
DEFAULT_RATE = 16000


class ModelUnusable(Exception):
    """The folder is not a Vosk model this control plane can use."""


@dataclass(frozen=True)
class ModelReport:
    path: Path
    sample_rate: int
    grammar_graph: bool  # HCLr.fst + Gr.fst: grammar (keyword) mode possible
    keywords: tuple[str, ...] = ()  # configured keywords found in the vocabulary
    missing_keywords: tuple[str, ...] = ()
    has_unknown_word: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def keyword_mode(self) -> bool:
        """Recognise only the keywords (and [unk] for everything else)."""
        return self.grammar_graph and self.has_unknown_word and bool(self.keywords)


def check_files(path: Path) -> tuple[int, bool]:
    """(sample rate, grammar graph) of a model folder, or ModelUnusable naming what is missing."""
    if not path.is_dir():
        raise ModelUnusable(f"Vosk model folder {path} does not exist")
    required = [path / "am" / "final.mdl", path / "conf" / "mfcc.conf"]
    missing = [str(p) for p in required if not p.is_file()]
    graph = path / "graph"
    static = (graph / "HCLG.fst").is_file()
    grammar = (graph / "HCLr.fst").is_file() and (graph / "Gr.fst").is_file()
    if not static and not grammar:
        missing.append(f"{graph}/HCLG.fst (or HCLr.fst and Gr.fst)")
    if missing:
        raise ModelUnusable(f"Vosk model {path} is incomplete: missing {', '.join(missing)}")
    return _sample_rate(path / "conf" / "mfcc.conf"), grammar


def _sample_rate(mfcc: Path) -> int:
    match = re.search(r"^--sample-frequency=(\d+)", mfcc.read_text(), re.MULTILINE)
    rate = int(match.group(1)) if match else DEFAULT_RATE
    if rate not in (8000, 16000):
        raise ModelUnusable(f"{mfcc}: sample frequency {rate} Hz (8000 or 16000 expected)")
    return rate


def check_vocabulary(path: Path, model: Any, keywords: list[str]) -> ModelReport:
    """Keywords and [unk] against a loaded model (vosk.Model)."""
    rate, grammar = check_files(path)
    words = [w.strip().lower() for w in keywords if w.strip()]
    present = tuple(w for w in words if model.vosk_model_find_word(w) >= 0)
    missing = tuple(w for w in words if w not in present)
    unknown = model.vosk_model_find_word(UNKNOWN_WORD) >= 0
    report = ModelReport(path, rate, grammar, present, missing, unknown)
    if missing:
        report.notes.append(f"keywords not in the model's vocabulary, ignored: {', '.join(missing)}")
    if words and not present:
        report.notes.append("no configured keyword is in the vocabulary: keyword screening is off")
    elif present and not report.keyword_mode:
        why = "no grammar graph (HCLr.fst, Gr.fst)" if not grammar else f"no '{UNKNOWN_WORD}' word"
        report.notes.append(
            f"keyword mode refused ({why}): keywords are spotted in the free transcript instead"
        )
    return report
