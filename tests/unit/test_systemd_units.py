# The systemd units of deploy/systemd/ as `make install` (scripts/install.sh) renders them
# with this checkout's paths: `systemd-analyze verify` finds nothing wrong with them (and
# does find a broken copy); no secret is in any of them; the control plane and the
# watchdog are Type=notify services with a heartbeat, always restarted; the watchdog
# needs nothing of the control plane; every script a unit runs is one `make run` runs
# too; Redis under systemd still reads its password on its standard input only.
# Rules: nothing is enabled or started (DESTDIR: a temporary folder); systemd-analyze
# needs no running systemd, only the Debian package systemd (scripts/host-deps.sh).
from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "deploy" / "systemd"
CONTROL_PLANE, WATCHDOG = "ivr112-control-plane.service", "ivr112-watchdog.service"
REDIS, ASTERISK, TARGET = "ivr112-redis.service", "ivr112-asterisk.service", "ivr112.target"
SECRET_VARIABLES = (
    "IVR_ARI_PASSWORD",
    "IVR_AMI_PASSWORD",
    "IVR_API_TOKEN",
    "IVR_REDIS_PASSWORD",
    "IVR_WATCHDOG_AMI_PASSWORD",
    "REDISCLI_AUTH",
)
DEPENDENCIES = ("Requires", "Requisite", "BindsTo", "PartOf", "Upholds", "Wants", "After", "Before")


@dataclass(frozen=True)
class Unit:
    path: Path
    text: str
    entries: tuple[tuple[str, str, str], ...]  # (section, key, value), in order

    def values(self, key: str, section: str | None = None) -> list[str]:
        return [v for s, k, v in self.entries if k == key and section in (None, s)]

    def one(self, key: str) -> str | None:
        found = self.values(key)
        return found[-1] if found else None

    def words(self, key: str) -> set[str]:
        return {word for value in self.values(key) for word in value.split()}


def parse(path: Path) -> Unit:
    section, entries = "", []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: '{line}' is not KEY=VALUE"
        entries.append((section, key.strip(), value.strip()))
    return Unit(path, path.read_text(), tuple(entries))


@dataclass(frozen=True)
class Installed:
    root: Path  # DESTDIR
    env: dict[str, str]
    given_secrets: dict[str, str]  # secrets set in the installer's environment

    @property
    def units_dir(self) -> Path:
        return self.root / "etc" / "systemd" / "system"

    def unit(self, name: str) -> Unit:
        return parse(self.units_dir / name)

    def units(self) -> dict[str, Unit]:
        return {path.name: parse(path) for path in sorted(self.units_dir.iterdir())}


def run_script(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(REPO / "scripts" / script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def install_env(folder: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "DESTDIR": str(folder / "dest"),
        "IVR_STATE_DIR": str(folder / "state"),
        "IVR_CACHE_DIR": str(folder / "cache"),
        "ASTERISK_ROOT": str(folder / "cache" / "asterisk-root"),
        **extra,
    }


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    folder = tmp_path_factory.mktemp("install")
    given = {name: f"{name.lower()}-{secrets.token_urlsafe(18)}" for name in SECRET_VARIABLES}
    env = install_env(folder, **given)
    done = run_script("install.sh", env)
    assert done.returncode == 0, done.stderr
    assert "nothing enabled" in done.stderr, done.stderr
    return Installed(Path(env["DESTDIR"]), env, given)


def verify(folder: Path) -> list[str]:
    """What `systemd-analyze verify` says about the units of `folder` (empty: valid)."""
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: install the Debian package systemd (scripts/host-deps.sh)"
    files = sorted(str(path) for path in folder.iterdir())
    done = subprocess.run(
        [analyze, "verify", *files], capture_output=True, text=True, timeout=60, check=False
    )
    said = [line for line in (done.stdout + done.stderr).splitlines() if "ivr112" in line]
    if done.returncode != 0 and not said:
        said = [f"systemd-analyze verify exited {done.returncode}: {done.stderr.strip()}"]
    return said


def test_install_renders_every_template_with_this_checkouts_paths(installed: Installed) -> None:
    names = {path.name.removesuffix(".in") for path in TEMPLATES.glob("*.in")}
    assert names == {REDIS, ASTERISK, CONTROL_PLANE, WATCHDOG, TARGET}
    assert set(installed.units()) == names
    for name, unit in installed.units().items():
        assert not re.search(r"@[A-Z_]+@", unit.text), f"{name} keeps a placeholder"
    control = installed.unit(CONTROL_PLANE)
    assert control.one("ExecStart") == f"/bin/bash {REPO}/scripts/ivr-service.sh run"
    assert control.words("ReadWritePaths") >= {installed.env["IVR_STATE_DIR"]}
    assert f"IVR_STATE_DIR={installed.env['IVR_STATE_DIR']}" in control.words("Environment")
    settings = installed.root / "etc" / "default" / "ivr112"
    assert settings.is_file() and settings.stat().st_mode & 0o077 == 0, "the settings file is not 0600"


def test_units_pass_systemd_analyze_verify(installed: Installed) -> None:
    assert verify(installed.units_dir) == []


@pytest.mark.parametrize(
    ("unit", "good", "broken"),
    [
        (CONTROL_PLANE, "Type=notify", "Type=notifyy"),
        (WATCHDOG, "ExecStart=/bin/bash", "ExecStart=/bin/no-such-shell"),
        (REDIS, "Restart=always", "Restrat=always"),
        (ASTERISK, "ExecStartPre=/bin/bash", "ExecStartPre=bin/bash"),
    ],
)
def test_verify_finds_a_broken_unit(
    installed: Installed, tmp_path: Path, unit: str, good: str, broken: str
) -> None:
    copy = tmp_path / "units"
    shutil.copytree(installed.units_dir, copy)
    text = (copy / unit).read_text()
    assert good in text, f"{unit} no longer has {good}"
    (copy / unit).write_text(text.replace(good, broken, 1))
    said = verify(copy)
    assert said and all(unit in line for line in said), said


def test_no_secret_in_any_unit(installed: Installed) -> None:
    files = {path.name: path.read_text() for path in installed.units_dir.iterdir()}
    files["/etc/default/ivr112"] = (installed.root / "etc" / "default" / "ivr112").read_text()
    for name, text in files.items():
        for variable, value in installed.given_secrets.items():
            assert value not in text, f"{name} holds the value of {variable} given to make install"
    for name, unit in installed.units().items():
        for section, key, value in unit.entries:
            if key.startswith("Exec") or key in ("Environment", "PassEnvironment", "SetCredential"):
                named = [v for v in SECRET_VARIABLES if v in value]
                assert not named and "secrets/" not in value, (
                    f"{name} [{section}] {key}={value}: a secret there is readable by every user "
                    "(process arguments, systemctl show); the services read them from the state folder"
                )


@pytest.mark.parametrize("name", [CONTROL_PLANE, WATCHDOG])
def test_python_services_are_notify_watched_and_always_restarted(installed: Installed, name: str) -> None:
    unit = installed.unit(name)
    wanted = {
        "Type": "notify",
        "NotifyAccess": "main",
        "Restart": "always",
        "RestartSec": "1",
        "WatchdogSec": "10",
        "StartLimitIntervalSec": "0",  # never gives up restarting
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
    }
    found = {key: unit.one(key) for key in wanted}
    assert found == wanted, f"{name}: {found}"
    assert installed.env["IVR_STATE_DIR"] in unit.words("ReadWritePaths"), f"{name} cannot write its state"


def test_watchdog_needs_nothing_of_the_control_plane(installed: Installed) -> None:
    watchdog = installed.unit(WATCHDOG)
    for key in DEPENDENCIES:
        assert CONTROL_PLANE not in watchdog.words(key), f"{WATCHDOG} {key}= names {CONTROL_PLANE}"
    assert {ASTERISK} <= watchdog.words("After"), f"{WATCHDOG} starts before Asterisk answers AMI"
    control = installed.unit(CONTROL_PLANE)
    for key in ("Requires", "Requisite", "BindsTo"):
        assert WATCHDOG not in control.words(key), f"{CONTROL_PLANE} {key}= ties it to the watchdog"
    assert installed.unit(TARGET).words("Wants") == {REDIS, ASTERISK, CONTROL_PLANE, WATCHDOG}
    for name in (REDIS, ASTERISK, CONTROL_PLANE, WATCHDOG):
        assert installed.unit(name).words("PartOf") == {TARGET}, f"{name} does not stop with {TARGET}"


SCRIPT = re.compile(r"scripts/([\w.-]+\.sh)\b")


def scripts_run_by(script: str, seen: set[str] | None = None) -> set[str]:
    """The scripts `script` runs, and the ones they run in turn (sourced helpers included)."""
    seen = set() if seen is None else seen
    for name in SCRIPT.findall((REPO / "scripts" / script).read_text()):
        if name not in seen and (REPO / "scripts" / name).is_file():
            seen.add(name)
            scripts_run_by(name, seen)
    return seen


def test_units_run_what_make_run_runs(installed: Installed) -> None:
    make_run = scripts_run_by("run.sh")
    for name, unit in installed.units().items():
        for section, key, value in unit.entries:
            if not key.startswith("Exec"):
                continue
            for script in SCRIPT.findall(value):
                assert (REPO / "scripts" / script).is_file(), f"{name} {key} runs scripts/{script}: missing"
                assert script in make_run, (
                    f"{name} [{section}] {key} runs scripts/{script}, which `make run` never runs"
                )


def test_install_refuses_a_path_systemd_cannot_name(tmp_path: Path) -> None:
    env = install_env(tmp_path, IVR_STATE_DIR="/var/lib/ivr 112%i")
    done = run_script("install.sh", env)
    assert done.returncode != 0
    assert "IVR_STATE_DIR='/var/lib/ivr 112%i' is not a plain absolute path" in done.stderr
    assert not (tmp_path / "dest").exists(), "units written with a path systemd would misread"


def test_uninstall_removes_the_units_and_keeps_the_rest(tmp_path: Path) -> None:
    env = install_env(tmp_path)
    assert run_script("install.sh", env).returncode == 0
    units = Path(env["DESTDIR"]) / "etc" / "systemd" / "system"
    (units / "other.service").write_text("[Service]\nExecStart=/bin/true\n")
    done = run_script("uninstall.sh", env)
    assert done.returncode == 0, done.stderr
    assert sorted(path.name for path in units.iterdir()) == ["other.service"]
    assert (Path(env["DESTDIR"]) / "etc" / "default" / "ivr112").is_file(), "the operator's settings went"


@pytest.fixture
def fake_bin(tmp_path: Path) -> Iterator[Path]:
    """A folder of stand-ins for redis-server and chroot that record their arguments,
    standard input and umask, then exit."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in ("redis-server", "chroot"):
        (folder / name).write_text(
            "#!/bin/bash\n"
            f'printf "%s\\n" "$@" >"{tmp_path}/{name}.argv"\n'
            f'umask >"{tmp_path}/{name}.umask"\n'
            f'[ "$1" != - ] || cat >"{tmp_path}/{name}.stdin"\n'
        )
        (folder / name).chmod(0o755)
    yield folder


@pytest.mark.parametrize("foreground", [True, False])
def test_redis_reads_its_password_on_stdin_under_systemd_too(
    tmp_path: Path, fake_bin: Path, foreground: bool
) -> None:
    password = secrets.token_urlsafe(18)
    env = {
        "PATH": f"{fake_bin}:{os.environ['PATH']}",
        "IVR_STATE_DIR": str(tmp_path / "state"),
        "IVR_REDIS_PASSWORD": password,
        "REDIS_PORT": "6399",
    }
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "redis-serve.sh"), *(["--foreground"] if foreground else [])],
        env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    argv = (tmp_path / "redis-server.argv").read_text().splitlines()
    assert password not in " ".join(argv)
    assert (tmp_path / "redis-server.stdin").read_text() == f'requirepass "{password}"\n'
    options = dict(zip(argv[1::2], argv[2::2], strict=False))
    assert options["--bind"] == "127.0.0.1" and options["--appendonly"] == "yes"
    assert options["--daemonize"] == ("no" if foreground else "yes")
    assert ("--supervised" in argv) == foreground, "under systemd Redis must say when it is ready"
    assert (tmp_path / "redis-server.umask").read_text().strip() == "0077"


@pytest.mark.parametrize("foreground", [True, False])
def test_asterisk_launch_is_the_same_start_in_the_foreground(
    tmp_path: Path, fake_bin: Path, foreground: bool
) -> None:
    env = {"PATH": f"{fake_bin}:{os.environ['PATH']}", "ASTERISK_ROOT": str(tmp_path / "root")}
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "asterisk-launch.sh"), *(["--foreground"] if foreground else [])],
        env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    argv = (tmp_path / "chroot.argv").read_text().splitlines()
    expected = [
        str(tmp_path / "root"),
        "/usr/sbin/asterisk",
        *(["-f"] if foreground else []),
        "-U",
        "asterisk",
    ]
    assert argv == [*expected, "-G", "asterisk"]
    assert (tmp_path / "chroot.umask").read_text().strip() == "0077"
