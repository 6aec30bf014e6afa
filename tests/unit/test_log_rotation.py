# Asterisk's log files on an installed host: `make install` (scripts/install.sh) writes
# etc/logrotate.d/ivr112 from deploy/logrotate/ivr112.in with the Asterisk root's path; it
# names every file asterisk-conf/logger.conf has Asterisk write, logrotate reads it without
# an error (and does report one in a broken copy), Asterisk is told to reopen its files
# after a rotation and never renames them itself; `make uninstall` removes it.
# Rules: logrotate only in debug mode (-d: nothing is renamed, no script runs); DESTDIR is
# a temporary folder; logrotate comes from the Debian package (scripts/host-deps.sh).
from __future__ import annotations

import configparser
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONF = REPO / "asterisk-conf"


def asterisk_conf(name: str) -> configparser.ConfigParser:
    """An Asterisk .conf file as sections of `key = value` or `key => value`."""
    parser = configparser.ConfigParser(
        delimiters=("=>", "="), comment_prefixes=(";",), inline_comment_prefixes=(";",), strict=False
    )
    parser.read_string((CONF / name).read_text())
    return parser


def files_asterisk_writes() -> list[str]:
    """The files logger.conf has Asterisk write, as paths inside its root."""
    options = asterisk_conf("asterisk.conf")
    folder = options.get("directories", "astlogdir", fallback="/var/log/asterisk")
    logger = asterisk_conf("logger.conf")
    names = [
        name
        for name in logger["logfiles"]
        if name != "console" and not name.startswith("syslog")  # not files
    ]
    if logger.get("general", "queue_log", fallback="yes").lower() not in ("no", "false", "0", "off"):
        names.append(logger.get("general", "queue_log_name", fallback="queue_log"))
    return [f"{folder}/{name}" for name in names]


def run_script(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(REPO / "scripts" / script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def installed(tmp_path: Path) -> tuple[dict[str, str], Path]:
    env = {
        "PATH": os.environ["PATH"],
        "DESTDIR": str(tmp_path / "dest"),
        "IVR_STATE_DIR": str(tmp_path / "state"),
        "IVR_CACHE_DIR": str(tmp_path / "cache"),
        "ASTERISK_ROOT": str(tmp_path / "cache" / "asterisk-root"),
    }
    done = run_script("install.sh", env)
    assert done.returncode == 0, done.stderr
    return env, tmp_path / "dest" / "etc" / "logrotate.d" / "ivr112"


def logrotate(config: Path, state: Path) -> tuple[int, str]:
    """logrotate's verdict on `config`, in debug mode, every log forced due."""
    binary = shutil.which("logrotate") or (
        "/usr/sbin/logrotate" if Path("/usr/sbin/logrotate").exists() else None
    )
    assert binary, "logrotate is missing: install the Debian package logrotate (scripts/host-deps.sh)"
    done = subprocess.run(
        [binary, "-d", "-f", "-s", str(state), str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def test_the_rotation_names_every_file_asterisk_writes_and_logrotate_reads_it(
    installed: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, rotation = installed
    root = Path(env["ASTERISK_ROOT"])
    files = files_asterisk_writes()
    assert "/var/log/asterisk/messages.log" in files and "/var/log/asterisk/queue_log" in files
    text = rotation.read_text()
    assert "@" not in text.replace("@ASTERISK_ROOT@", "")
    for name in files:
        (root / name.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (root / name.lstrip("/")).write_text("a line\n")
        assert f"{root}{name}" in text.split("{", 1)[0], f"{name} is not rotated"
    status, said = logrotate(rotation, tmp_path / "logrotate.state")
    assert status == 0 and not [line for line in said.splitlines() if line.startswith("error")], said
    for name in files:
        assert f"rotating log {root}{name}," in said, said
    assert f"chroot {root} /usr/sbin/asterisk -rx 'logger reload'" in said  # reopened afterwards
    assert rotation.stat().st_mode & 0o777 == 0o644  # logrotate ignores a writable config


def test_logrotate_reports_a_broken_copy(installed: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    _, rotation = installed
    broken = tmp_path / "broken"
    broken.write_text(rotation.read_text().replace("daily", "dayly"))
    broken.chmod(0o644)
    _, said = logrotate(broken, tmp_path / "logrotate.state")
    assert "unknown option 'dayly'" in said


def test_asterisk_never_renames_its_logs_behind_logrotate() -> None:
    assert asterisk_conf("logger.conf").get("general", "rotatestrategy") == "none"


def test_uninstall_removes_the_rotation(installed: tuple[dict[str, str], Path]) -> None:
    env, rotation = installed
    assert rotation.is_file()
    done = run_script("uninstall.sh", env)
    assert done.returncode == 0, done.stderr
    assert not rotation.exists()
