# The shell helpers of scripts/lib.sh that keep secrets and private data private:
# curl_with gives curl its credentials as configuration on standard input (a server gets
# them exactly, quotes and backslashes included; curl's arguments never hold them);
# private_state narrows the state folder to its owner (folders 0700, files 0600);
# stored_secret makes a secret once, 0600 in a 0700 folder, and then keeps it.
from __future__ import annotations

import base64
import http.server
import os
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PASSWORD = 'Vq8"LmZ2\\rT4 pXw9KdY'  # a quote, a backslash and a space


def bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", f'set -euo pipefail; . "{REPO}/scripts/lib.sh"; {script}'],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server that keeps each request's Authorization header."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/ari/asterisk/ping", seen
    finally:
        httpd.shutdown()


def test_curl_with_sends_the_credentials_without_putting_them_in_curls_arguments(
    tmp_path: Path, server: tuple[str, list[str]]
) -> None:
    url, seen = server
    wrappers, argv_log = tmp_path / "bin", tmp_path / "argv.log"
    wrappers.mkdir()
    real = subprocess.run(["bash", "-c", "command -v curl"], capture_output=True, text=True).stdout.strip()
    (wrappers / "curl").write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >>{argv_log}\nexec {real} "$@"\n')
    (wrappers / "curl").chmod(0o755)
    env = {"PATH": f"{wrappers}:{os.environ['PATH']}", "SECRET": PASSWORD, "URL": url}
    done = bash('curl_with user "ivr112:$SECRET" -fsS -o /dev/null "$URL"; '
                'curl_with header "Authorization: Bearer $SECRET" -fsS -o /dev/null "$URL"', env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    basic = "Basic " + base64.b64encode(f"ivr112:{PASSWORD}".encode()).decode()
    assert seen == [basic, f"Bearer {PASSWORD}"]
    recorded = argv_log.read_text()
    assert url in recorded and "Vq8" not in recorded and "pXw9KdY" not in recorded


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_private_state_narrows_an_older_installs_folder(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / "redis-6380" / "appendonlydir").mkdir(parents=True)
    files = [state / "calls.sqlite3", state / "redis-6380" / "appendonlydir" / "appendonly.aof.1.incr.aof"]
    for path in files:
        path.write_text("x")
        path.chmod(0o644)
    for folder in (state, state / "redis-6380"):
        folder.chmod(0o755)
    done = bash("private_state", {"IVR_STATE_DIR": str(state)})
    assert done.returncode == 0, done.stderr
    everything = [state, *state.rglob("*")]
    assert {p: mode(p) for p in everything} == {p: 0o700 if p.is_dir() else 0o600 for p in everything}
    assert bash("private_state", {"IVR_STATE_DIR": "/"}).returncode != 0  # never the whole disk


def test_stored_secret_is_made_once_for_the_owner_only(tmp_path: Path) -> None:
    env = {"IVR_STATE_DIR": str(tmp_path / "state")}
    first = bash("stored_secret redis_password", env)
    again = bash("redis_password", env)
    assert first.returncode == 0 and len(first.stdout.strip()) == 24, first.stderr
    assert again.stdout == first.stdout.strip()  # the same one, printed without a newline
    secret = tmp_path / "state" / "secrets" / "redis_password"
    assert (mode(secret.parent), mode(secret)) == (0o700, 0o600)
    assert bash("redis_password", {**env, "IVR_REDIS_PASSWORD": "given"}).stdout == "given"
