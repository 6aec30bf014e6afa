"""The floors import downwards only: the core decides without I/O and knows no other floor;
adapters talk to the world and never reach into the engine, the app or the command-line
tools (HTTP goes through its one door, ivr.adapters.http.centre); ARI is one protocol
(ivr.adapters.ari.port) that only the app builds over HTTP; the engine stays a pump of
modules of at most 300 lines. A module that breaks a rule is named with what breaks it."""

from __future__ import annotations

import ast
from pathlib import Path

IVR = Path(__file__).resolve().parents[2] / "ivr"


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def breaking(floor: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path.relative_to(IVR.parent)} imports {module}"
        for path in (IVR / floor).rglob("*.py")
        for module in imports(path)
        if module.startswith(forbidden)
    )


def test_adapters_never_import_the_engine_the_app_or_the_tools() -> None:
    assert breaking("adapters", ("ivr.engine", "ivr.app", "ivr.tools")) == []


def test_the_core_imports_no_other_floor() -> None:
    forbidden = ("ivr.adapters", "ivr.engine", "ivr.app", "ivr.tools", "ivr.config", "aiohttp", "redis")
    assert breaking("core", forbidden) == []


def test_the_control_plane_imports_no_command_line_tool() -> None:
    found = [
        m
        for name in ("app.py", "config_reload.py", "asterisk_links.py")
        for m in imports(IVR / name)
        if m.startswith("ivr.tools")
    ]
    assert found == []


def test_only_the_apps_wiring_builds_the_http_ari_client_everyone_else_takes_the_protocol() -> None:
    users = sorted(
        str(path.relative_to(IVR.parent))
        for path in IVR.rglob("*.py")
        if "ivr.adapters.ari.rest" in imports(path) and path.parent.name != "ari"
    )
    assert users == ["ivr/app.py", "ivr/asterisk_links.py"]


def test_the_engine_stays_a_thin_pump_of_small_modules() -> None:
    long = [
        f"{p.name}: {n} lines"
        for p in (IVR / "engine").glob("*.py")
        if (n := len(p.read_text().splitlines())) > 300
    ]
    assert long == []
