# The command line as an operator meets it: `kendari112` (the console script pip installs)
# and `python -m ivr` are one command; every subcommand, argument and option explains
# itself in --help; --version prints the installed distribution's version.
# Rules: the parser is walked, not its help text read, so a new argument without help
# fails here naming its command; the console script is run as installed (pip install -e .).
from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest

from ivr.__main__ import main
from ivr.cli_parser import build_parser

SCRIPT = Path(sys.executable).parent / "kendari112"
COMMANDS = ("run", "watchdog", "timeline", "users", "config", "screening")


def parsers(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from parsers(child, f"{path} {name}")


def without_help(path: str, parser: argparse.ArgumentParser) -> Iterator[str]:
    for action in parser._actions:
        name = "/".join(action.option_strings) or action.metavar or action.dest
        if not action.help:
            yield f"{path}: {name}"
        if isinstance(action, argparse._SubParsersAction):
            described = {choice.dest for choice in action._choices_actions if choice.help}
            yield from (f"{path} {sub}" for sub in action.choices if sub not in described)


def test_every_subcommand_argument_and_option_has_a_help_text() -> None:
    walked = list(parsers(build_parser("kendari112"), "kendari112"))
    assert {"kendari112 config check", "kendari112 screening eval", "kendari112 users hash"} <= {
        path for path, _ in walked
    }
    missing = [entry for path, parser in walked for entry in without_help(path, parser)]
    assert missing == [], f"no help text (ivr/cli_parser.py): {missing}"


@pytest.mark.parametrize(("argv0", "prog"), [("/usr/bin/kendari112", "kendari112"), ("ivr", "python -m ivr")])
def test_version_prints_the_installed_distributions_version(
    argv0: str, prog: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", [argv0])
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"{prog} {version('kendari112')}\n"


def test_the_installed_console_script_lists_the_subcommands() -> None:
    assert SCRIPT.exists(), f"no {SCRIPT}: reinstall with `pip install -e .` (pyproject [project.scripts])"
    done = subprocess.run([SCRIPT, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: kendari112 ")
    listed = [line.split()[0] for line in done.stdout.splitlines() if line.startswith("    ")]
    assert all(command in listed for command in COMMANDS), done.stdout
    version_run = subprocess.run([SCRIPT, "--version"], capture_output=True, text=True, timeout=60)
    assert version_run.stdout == f"kendari112 {version('kendari112')}\n"
