"""SIPp over TLS for the desk-phone tests: Debian 12's SIPp has no TLS, so a TLS-capable
SIPp runs from a Debian sid root (scripts/sipp-tls-root.sh) with chroot. It shares the
host's network, so it reaches Asterisk on loopback like every other SIPp here.

Rules: each test gets a folder of its own inside the root (scenarios, audio and the
phone's own self-signed certificate copied in; SIPp's logs written there), removed at the
end; SIPp is started with chroot and stopped by its pid (tests.integration.stack.Process:
chroot and the shell exec it, so the pid is SIPp's); nothing is installed on the host.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.integration.stack import REPO, SIPP_DIR, Process

CACHE = Path(os.environ.get("IVR_CACHE_DIR", "/var/cache/ivr112"))
ROOT = Path(os.environ.get("SIPP_TLS_ROOT", str(CACHE / "sipp-tls-root")))
INSIDE = "/kendari112-tests"  # the tests' folders, as SIPp sees them
ASTERISK_TLS = "127.0.0.1:5061"  # transport-tls of asterisk-conf/pjsip.conf (SIP_TLS_BIND)


def srtp_key() -> str:
    """An SDES key: 16 bytes of master key and 14 of salt, base64 (RFC 4568 inline:)."""
    return base64.b64encode(secrets.token_bytes(30)).decode()


@dataclass
class TlsSipp:
    """The TLS SIPp of one test: `folder` as the host sees it, `inside` as SIPp does."""

    folder: Path
    inside: str

    def copy_in(self, *files: Path) -> None:
        for file in files:
            shutil.copy(file, self.folder / file.name)

    def path(self, name: str) -> Path:
        """A file SIPp wrote (a message or error log), as the host sees it."""
        return self.folder / name

    def args(self, scenario: str, *extra: str) -> list[str]:
        """chroot into the root, into this test's folder, then SIPp over one TLS socket with
        the folder's certificate."""
        self.copy_in(SIPP_DIR / scenario)
        run_in = 'cd "$0" && exec sipp "$@"'
        return ["chroot", str(ROOT), "/bin/sh", "-c", run_in, self.inside, "-sf", scenario, "-t", "l1",
                "-tls_cert", "phone.crt", "-tls_key", "phone.key", "-nostdin", *extra]  # fmt: skip

    def start(self, scenario: str, log: str, *extra: str) -> Process:
        return Process(self.args(scenario, *extra), self.folder / f"{log}.out")

    def run(self, scenario: str, log: str, *extra: str, timeout: float = 40) -> tuple[int, str]:
        """One SIPp run to its end: its exit code and its error log."""
        errors = f"{log}_errors.log"
        args = self.args(scenario, *extra, "-trace_err", "-error_file", errors)
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
        found = self.path(errors)
        return done.returncode, (found.read_text() if found.exists() else "") + done.stderr


def build_root() -> None:
    """The root is built once and reused (about half a minute the first time)."""
    env = os.environ | {"SIPP_TLS_ROOT": str(ROOT), "IVR_CACHE_DIR": str(CACHE)}
    subprocess.run(["bash", str(REPO / "scripts" / "sipp-tls-root.sh")], env=env, check=True, timeout=600)


@contextmanager
def tls_sipp(name: str) -> Iterator[TlsSipp]:
    """A folder inside the root for one test, with a phone certificate SIPp presents."""
    inside = f"{INSIDE}/{name}-{secrets.token_hex(4)}"
    folder = ROOT / inside.lstrip("/")
    folder.mkdir(parents=True)
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=phone",
             "-keyout", str(folder / "phone.key"), "-out", str(folder / "phone.crt")],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        yield TlsSipp(folder, inside)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
