# What the control plane imports, pip installs: every third-party module imported anywhere
# under ivr/ (top-level name, relative imports and the standard library left out) belongs
# to a distribution listed in pyproject.toml's [project] dependencies, so that
# `pip install kendari112` alone gives a control plane that starts.
# Rules: the sources are parsed, nothing is imported from them; the message names each
# missing module, its distribution and the files importing it.
from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections import defaultdict
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def third_party_imports() -> dict[str, set[str]]:
    """Top-level module name -> the files under ivr/ that import it."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in (REPO / "ivr").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "ivr" and top not in sys.stdlib_module_names:
                    found[top].add(str(path.relative_to(REPO)))
    return found


def declared() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return {normalised(re.split(r"[\s\[<>=!~;@]", spec, maxsplit=1)[0]) for spec in project["dependencies"]}


def test_every_third_party_import_of_the_package_is_a_declared_dependency() -> None:
    distributions = packages_distributions()
    missing = []
    for module, files in sorted(third_party_imports().items()):
        owners = distributions.get(module, [])
        if not owners:
            missing.append(f"{module} (installed by no distribution here), imported by {sorted(files)}")
        elif not {normalised(owner) for owner in owners} & declared():
            missing.append(f"{module} (distribution {', '.join(owners)}), imported by {sorted(files)}")
    assert missing == [], "not in pyproject.toml's [project] dependencies:\n" + "\n".join(missing)


def test_the_walk_sees_the_imports_it_must_check() -> None:
    """Guards the test above against passing because it found nothing."""
    found = third_party_imports()
    assert {"aiohttp", "numpy", "yaml"} <= found.keys()
    assert "ivr/adapters/speech/vad.py" in found["numpy"]
    assert not {"asyncio", "json", "ivr"} & found.keys()
