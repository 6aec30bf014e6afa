"""The command line's grammar: every subcommand and argument of `python -m ivr` (the
`kendari112` console script is the same command), with what each one does.

Rules: every argument, option and subcommand carries a help text (tests/unit/test_command_line.py
walks the parser); `--version` prints the installed distribution's version, read from its
metadata, never a number written here; this module parses only: ivr/__main__.py acts.
"""

from __future__ import annotations

import argparse
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

DISTRIBUTION = "kendari112"


def installed_version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "(not installed: pip install -e .)"


def _commands(
    parser: argparse.ArgumentParser, dest: str
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    return parser.add_subparsers(dest=dest, required=True, metavar="COMMAND", help="one of:")


def _config(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = sub.add_parser("config", help="command-centre configuration (queue/*.yaml)")
    config_sub = _commands(config, "config_command")
    check = config_sub.add_parser("check", help="validate a file; prints every problem, exits 1 if any")
    check.add_argument("file", type=Path, help="the centre file, e.g. queue/kendari.yaml")
    apply = config_sub.add_parser(
        "apply", help="write the SIP endpoints of call takers and agencies into Asterisk and reload it"
    )
    apply.add_argument("--file", type=Path, help="centre file (default IVR_CENTRE_CONFIG)")
    apply.add_argument("--asterisk-etc", type=Path, help="Asterisk's etc folder (default IVR_ASTERISK_ETC)")
    apply.add_argument("--no-reload", action="store_true", help="write only (Asterisk not running yet)")
    edge = config_sub.add_parser("edge", help="write the cluster's SIP edge (Kamailio) configuration")
    edge.add_argument("dest", type=Path, help="its folder (IVR_SIP_EDGE, IVR_CLUSTER_NODES: see docs)")


def _screening(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    screening = sub.add_parser("screening", help="offline screening: labelled corpus and evaluation")
    screening_sub = _commands(screening, "screening_command")
    corpus = screening_sub.add_parser(
        "corpus", help="generate the labelled corpus into DIR (genuine/ and no-speech/)"
    )
    corpus.add_argument("folder", type=Path, metavar="DIR", help="the corpus folder")
    corpus.add_argument(
        "--split", choices=("test", "dev", "confirm"), default="test",
        help="test: held out, report on it; dev: other seeds and texts, tune on it; "
        "confirm: a second held-out set, run once after a design change is settled",
    )  # fmt: skip
    evaluate = screening_sub.add_parser(
        "eval",
        help="evaluate on DIR/genuine|no-speech/*.wav; exit 2 if a genuine caller is ranked below normal",
    )
    evaluate.add_argument("folder", type=Path, metavar="DIR", help="the corpus folder")
    evaluate.add_argument("--model", type=Path, help="a Vosk model folder: keywords count too")
    evaluate.add_argument("--config", type=Path, help="centre file: screening thresholds, keywords")


def build_parser(prog: str = "python -m ivr") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Kendari 112 control plane")
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {installed_version()}",
        help="print the installed version and exit",
    )  # fmt: skip
    sub = _commands(parser, "command")
    sub.add_parser("run", help="run the control plane (settings from IVR_* environment variables)")
    watchdog = sub.add_parser(
        "watchdog",
        help="run the watchdog: stranded callers to the native queue when the control plane is gone",
    )
    watchdog.add_argument(
        "action", nargs="?", choices=["run", "status"], default="run",
        help="run (the default): run it; status: print its last status",
    )  # fmt: skip
    show = sub.add_parser("timeline", help="print a call's timeline (default: the latest call)")
    show.add_argument("call_id", nargs="?", help="the call's id (default: the latest call)")
    show.add_argument("--json", action="store_true", help="print the whole record as JSON")
    users = sub.add_parser("users", help="API users (IVR_USERS_FILE)")
    _commands(users, "users_command").add_parser(
        "hash", help="print the token_sha256 of a token read from standard input"
    )
    _config(sub)
    _screening(sub)
    return parser
