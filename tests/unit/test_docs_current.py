# docs/call-states.md is generated from ivr.core.call.TRANSITIONS by
# scripts/gen_diagrams.py: it must match the table as it is now (regenerate with
# `python scripts/gen_diagrams.py`), and it must draw every transition of the table.
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ivr.core import callback
from ivr.core.call import TRANSITIONS, Phase

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "gen_diagrams.py"
DOC = REPO / "docs" / "call-states.md"


def gen_diagrams() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_diagrams", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_call_states_doc_is_current() -> None:
    assert DOC.read_text() == gen_diagrams().render(), (
        "docs/call-states.md is stale: run `python scripts/gen_diagrams.py`"
    )


@pytest.mark.parametrize(("section", "transitions", "first"), [
    (0, TRANSITIONS, ("[*]", Phase.ANSWERING.value, "CallArrived")),
    (1, callback.TRANSITIONS, ("[*]", "ringing-taker", "start")),
])  # fmt: skip
def test_doc_draws_every_transition_of_the_table(section: int, transitions: Any, first: tuple) -> None:
    text = gen_diagrams().render().split("## Callbacks")[section]
    diagram = text.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert diagram.startswith("stateDiagram-v2\n")
    edges = set(re.findall(r"^\s+(\S+) --> (\S+) : (.+)$", diagram, re.MULTILINE))
    rows = set(re.findall(r"^\| ([\w-]+) \| `([^`]+)` \| `[^`]+` \| (.+) \|$", text, re.MULTILINE))
    expected_rows = set()
    for phase, table in transitions.items():
        for key, transition in table.items():
            targets = transition.targets or (phase,)
            expected_rows.add((phase.value, key, ", ".join(t.value for t in targets)))
            for target in targets:
                assert (phase.value, target.value, key.replace(":", "#58;")) in edges
    assert rows == expected_rows
    assert first in edges
    assert (
        "do not edit" in gen_diagrams().render()
        and "python scripts/gen_diagrams.py" in gen_diagrams().render()
    )


def test_handler_names_drop_the_underscore_and_show_factory_arguments() -> None:
    text = gen_diagrams().render()
    assert "| greeting | `GreetingFinished` | `greeting_ends(greeting-done)` | waiting |" in text
    assert "| answering | `CallerAnswered` | `answered` | greeting |" in text
    assert "`_" not in text


def test_script_writes_what_render_gives_from_any_directory(tmp_path: Path) -> None:
    """Run as a script (into a temporary file, never over the repo's doc)."""
    out = tmp_path / "call-states.md"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(out)], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert out.read_text() == gen_diagrams().render()
