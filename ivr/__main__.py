"""Command line: `python -m ivr run` starts the control plane; `python -m ivr watchdog`
its watchdog (`watchdog status` prints the watchdog's last status); `python -m ivr timeline`
prints a call's record and timeline from Redis; `python -m ivr config check FILE`
validates a command-centre configuration; `python -m ivr users hash` prints the hash of a
token read from standard input, refusing a weak one (ivr/secret_rules.py). The installed
console script `kendari112` is the same command; its grammar lives in ivr/cli_parser.py.

Rules: a bad setting exits with status 2 and a message naming it; nothing is printed
as a Python traceback for an operator mistake; `run` and `watchdog` log through
ivr.adapters.log_format (text or JSON lines, one per record, withheld numbers masked; a
syslog copy if asked).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ivr.adapters.aml_senders import SendersInvalid
from ivr.adapters.call_store import CallStore, StoreUnavailable
from ivr.adapters.http.auth import UsersInvalid, token_hash
from ivr.adapters.redis_connect import connect as redis_connect
from ivr.cli_parser import build_parser
from ivr.config.loader import ConfigInvalid
from ivr.config.loader import load as load_config
from ivr.secret_rules import weakness
from ivr.settings import Settings, SettingsError, SettingsT, StoreSettings, load_settings


def _settings(model: type[SettingsT]) -> SettingsT:
    try:
        return load_settings(model)
    except SettingsError as exc:
        print(f"ivr: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _stamp(at: float, zone: ZoneInfo) -> str:
    moment = datetime.fromtimestamp(at, zone)
    return f"{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond // 1000:03d} {moment.tzname()}"


async def _timeline(settings: StoreSettings, call_id: str | None, as_json: bool) -> int:
    client = redis_connect(
        settings.redis_url, settings.redis_secret, settings.redis_sentinels, settings.redis_service
    )
    store = CallStore(client, settings.redis_prefix)
    try:
        if call_id is None:
            latest = await store.latest(1)
            if not latest:
                print("no calls recorded yet", file=sys.stderr)
                return 1
            call_id = latest[0]
        record = await store.get(call_id)
    except StoreUnavailable as exc:
        print(f"ivr: Redis ({settings.redis_where}) unavailable: {exc}", file=sys.stderr)
        return 1
    finally:
        await client.aclose()
    if record is None:
        print(f"no call {call_id}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(record, indent=2))
        return 0
    print(
        f"call {call_id}  caller {record.get('caller', '?')}  dialled {record.get('dialled', '?')}"
        f"  outcome {record.get('outcome', '(in progress)')}"
    )
    zone = ZoneInfo(settings.timezone)
    start = record["timeline"][0]["at"] if record["timeline"] else 0.0
    for item in record["timeline"]:
        detail = " ".join(f"{k}={v}" for k, v in item.items() if k not in ("at", "entry"))
        print(f"  {_stamp(item['at'], zone)}  +{item['at'] - start:6.2f}s  {item['entry']:<16} {detail}")
    return 0


def _screening(
    command: str, folder: Path, model: Path | None = None, config: Path | None = None, split: str = "test"
) -> int:
    if command == "corpus":
        from ivr.tools.screening_corpus import generate

        print(f"{len(generate(folder, split))} files of the {split} split written under {folder}")
        return 0
    from ivr.adapters.speech.recognizers import load_model
    from ivr.adapters.speech.vosk_model import ModelUnusable
    from ivr.config.acd_policy import screening_policy
    from ivr.core.screening import ScreeningPolicy
    from ivr.tools.screening_eval import Recognise, evaluate, recogniser, report

    centre = load_config(config) if config else None
    policy = (screening_policy(centre) if centre else None) or ScreeningPolicy()
    words: Recognise | None = None
    keywords: tuple[str, ...] = ()
    if model is not None:
        try:
            vosk_model, checked = load_model(model, centre.screening.keywords if centre else [])
        except ModelUnusable as exc:
            print(f"model refused: {exc}", file=sys.stderr)
            return 1
        for note in checked.notes:
            print(f"model {model}: {note}")
        grammar = json.dumps([*checked.keywords, "[unk]"]) if checked.keyword_mode else None
        words, keywords = recogniser(vosk_model, checked.sample_rate, grammar), checked.keywords
    results = evaluate(folder, policy, words, keywords)
    if not results:
        print(
            f"no labelled WAV files under {folder} (expected {folder}/genuine|no-speech/*.wav)",
            file=sys.stderr,
        )
        return 1
    print(report(results))
    return 2 if any(r.expected == "genuine" and r.below_normal for r in results) else 0


def _check_config(path: Path) -> int:
    try:
        config = load_config(path)
    except ConfigInvalid as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{path}: {len(exc.problems)} problem(s); not applied", file=sys.stderr)
        return 1
    print(
        f"{path}: valid: {config.centre}, {len(config.priorities)} priorities, "
        f"{len(config.takers)} call takers, {len(config.agencies)} agencies"
    )
    return 0


def _apply_config(file: Path | None, etc: Path | None, no_reload: bool) -> int:
    from ivr.adapters.centre_endpoints import write_files
    from ivr.config.asterisk_centre import CentreEndpointsInvalid
    from ivr.tools.config_apply import ApplySettings, reload_asterisk

    settings = _settings(ApplySettings)
    settings = settings.model_copy(
        update={k: v for k, v in (("centre_config", file), ("asterisk_etc", etc)) if v is not None}
    )
    if _check_config(settings.centre_config):
        return 1
    try:
        changed = write_files(load_config(settings.centre_config), settings.files())
    except (CentreEndpointsInvalid, OSError) as exc:
        print(f"ivr: endpoints not written: {exc}", file=sys.stderr)
        return 1
    folder = settings.asterisk_etc / "centre"
    print(f"{folder}: " + (", ".join(changed) + " written" if changed else "unchanged"))
    for trunk in load_config(settings.centre_config).trunks:
        if not settings.static_contacts and all(m.startswith("127.") for m in trunk.match):
            print(f"warning: trunk {trunk.id} matches only loopback addresses (the test profile's): "
                  "no operator's call will reach it", file=sys.stderr)  # fmt: skip
    if no_reload:
        return 0
    try:
        for line in asyncio.run(reload_asterisk(settings)):
            print(f"reloaded {line}")
    except OSError as exc:
        print(f"ivr: files written but Asterisk not reloaded: {exc}", file=sys.stderr)
        return 1
    return 0


def _watchdog(action: str) -> int:
    from ivr.adapters.watchdog_status import read_status
    from ivr.settings import WatchdogSettings
    from ivr.watchdog import run as run_watchdog

    if action == "status":
        path = Path(os.environ.get("IVR_WATCHDOG_STATUS", "/var/lib/ivr112/watchdog.json"))
        status = read_status(path)
        if status is None:
            print(f"no watchdog status at {path} (IVR_WATCHDOG_STATUS)", file=sys.stderr)
            return 1
        print(json.dumps(status, indent=2))
        return 0
    settings = _settings(WatchdogSettings)
    _install_logging(settings, "ivr112-watchdog")
    asyncio.run(run_watchdog(settings))
    return 0


def _install_logging(settings: StoreSettings, program: str) -> None:
    """The log as the settings ask (IVR_LOG_*): text or JSON lines, a syslog copy."""
    from ivr.adapters.log_format import install

    install(
        settings.log_level, form=settings.log_format, syslog=settings.syslog_target,
        facility=settings.log_syslog_facility, zone=ZoneInfo(settings.timezone), program=program,
    )  # fmt: skip


def _prog() -> str:
    """How the operator called it: the console script by its name, else `python -m ivr`."""
    return "kendari112" if Path(sys.argv[0]).name == "kendari112" else "python -m ivr"


def main(argv: list[str] | None = None) -> int:
    args = build_parser(_prog()).parse_args(argv)

    if args.command == "screening":
        return _screening(
            args.screening_command, args.folder, getattr(args, "model", None), getattr(args, "config", None),
            getattr(args, "split", "test"),
        )  # fmt: skip
    if args.command == "config" and args.config_command == "apply":
        return _apply_config(args.file, args.asterisk_etc, args.no_reload)
    if args.command == "config" and args.config_command == "edge":
        from ivr.tools.edge_apply import run as render_edge

        return render_edge(args.dest)
    if args.command == "config":
        return _check_config(args.file)
    if args.command == "watchdog":
        return _watchdog(args.action)
    if args.command == "run":
        from ivr.app import run

        settings = _settings(Settings)
        _install_logging(settings, "ivr112-control-plane")  # one line per record, numbers masked
        try:
            asyncio.run(run(settings))
        except ConfigInvalid as exc:
            print(f"ivr: centre configuration refused:\n{exc}", file=sys.stderr)
            return 2
        except UsersInvalid as exc:
            print(f"ivr: users file refused:\n{exc}", file=sys.stderr)
            return 2
        except SendersInvalid as exc:
            print(f"ivr: AML senders file refused:\n{exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "users":
        token = sys.stdin.readline().strip()
        weak = weakness(token)
        if weak is not None:
            make = "python3 -c 'import secrets; print(secrets.token_urlsafe(24))'"
            print(
                f"ivr: the token read from standard input is refused: {weak}; make one with {make}",
                file=sys.stderr,
            )
            return 1
        print(token_hash(token))
        return 0
    return asyncio.run(_timeline(_settings(StoreSettings), args.call_id, args.json))


if __name__ == "__main__":
    sys.exit(main())
