"""Secrets on the real stack (issue 14, item 15): Redis refuses a client without its
password (NOAUTH) and the control plane works with it, logging Redis's address without
it; no secret (the ARI, AMI and Redis passwords, the API token, the phones' SIP
passwords) appears in the arguments of any command the start scripts ran (curl,
redis-server, redis-cli, chroot: written down by the session's wrappers, see stack.py),
nor in those of any running process (redis-server, Asterisk, the control plane)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.stack import ASTERISK_ROOT, RECORDED_COMMANDS, Process, Stack, wait_for

pytestmark = pytest.mark.integration


def unauthenticated(stack: Stack, command: bytes) -> bytes:
    """Redis's reply to one inline command from a client that never sent AUTH."""
    with socket.create_connection(("127.0.0.1", stack.redis_port), timeout=5) as client:
        client.sendall(command + b"\r\n")
        return client.recv(200)


def secrets_of(stack: Stack) -> dict[str, str]:
    found = {name: stack.env[name] for name in
             ("IVR_ARI_PASSWORD", "IVR_AMI_PASSWORD", "IVR_API_TOKEN", "IVR_REDIS_PASSWORD")}  # fmt: skip
    for path in (Path(stack.env["IVR_STATE_DIR"]) / "secrets").iterdir():
        found[f"secrets/{path.name}"] = path.read_text().strip()
    assert all(len(value) >= 16 for value in found.values()), "a secret too short to search for"
    return found


def command_lines() -> dict[int, str]:
    """Every running process's arguments, by pid."""
    lines = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                lines[int(proc.name)] = (
                    (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                )
            except OSError:  # ended meanwhile
                continue
    return lines


def test_redis_refuses_clients_without_the_password_and_the_control_plane_has_it(
    stack: Stack, control_plane: Callable[..., Process]
) -> None:
    assert unauthenticated(stack, b"PING").startswith(b"-NOAUTH")
    assert unauthenticated(stack, b"GET ivr:calls").startswith(b"-NOAUTH")
    assert unauthenticated(stack, b"AUTH not-the-password-0123").startswith(b"-WRONGPASS")
    app = control_plane(["taker16"])  # logged in through the API: its status is written to Redis
    # behind the answer (the write-behind queue), so shortly after it
    wait_for(
        lambda: stack.redis().hget("ivr:agent:taker16", "declared") == "available", 5, "taker16's status"
    )
    output = app.output()
    assert f"Redis redis://127.0.0.1:{stack.redis_port}/0" in output
    assert stack.env["IVR_REDIS_PASSWORD"] not in output


def test_no_secret_in_the_arguments_of_any_command_or_process(
    stack: Stack, control_plane: Callable[..., Process]
) -> None:
    app = control_plane(["taker16"])
    secrets = secrets_of(stack)
    recorded = stack.recorded_argv()
    assert {argv[0] for argv in recorded} >= set(RECORDED_COMMANDS), "a wrapper never ran: nothing checked"
    assert any(argv[0] == "curl" and any("/ari/asterisk/ping" in a for a in argv) for argv in recorded)
    leaks = {
        (name, " ".join(argv[:2]))
        for argv in recorded
        for name, value in secrets.items()
        if any(value in word for word in argv)
    }
    assert leaks == set(), f"secrets in recorded command lines (secret, command): {sorted(leaks)}"

    lines = command_lines()
    state = Path(stack.env["IVR_STATE_DIR"])
    ours = {
        "redis-server": int((state / f"redis-{stack.redis_port}" / "redis.pid").read_text()),
        "asterisk": int((ASTERISK_ROOT / "run/asterisk/asterisk.pid").read_text()),
        "control plane": app.popen.pid,
    }
    assert set(ours.values()) <= set(lines), (ours, "not running")
    leaking = {(name, pid) for pid, line in lines.items() for name, value in secrets.items() if value in line}
    assert leaking == set(), f"secrets in running processes' arguments (secret, pid): {sorted(leaking)}"
