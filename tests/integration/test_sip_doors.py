"""The SIP doors on the real stack, in the production profile (phones register, nothing
has a fixed loopback contact): nobody registers as an agency without its own generated
password; with a stolen password nobody replaces an agency phone that answers, and a
contact that does change raises an alarm (log and /api/health); an agency at a fixed
address accepts no REGISTER at all; nobody poses as an operator's trunk by writing the
trunk's id in From. Every attempt comes from a second loopback address (127.0.0.9)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.stack import (
    ASTERISK_ROOT,
    ASTERISK_SIP,
    REPO,
    SIPP_DIR,
    Process,
    Stack,
    centre_config,
    wait_for,
)

pytestmark = pytest.mark.integration

ATTACKER = "127.0.0.9"
POLICE = "127.0.0.34"  # where the police desk phone answers in these tests


def apply(stack: Stack, config: Path, static_contacts: bool) -> None:
    env = stack.env | {
        "IVR_CENTRE_CONFIG": str(config),
        "IVR_ASTERISK_ETC": str(ASTERISK_ROOT / "etc/asterisk"),
        "IVR_STATIC_CONTACTS": "yes" if static_contacts else "no",
    }
    done = subprocess.run([sys.executable, "-m", "ivr", "config", "apply"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def contacts(aor: str) -> list[str]:
    """The contact URIs Asterisk holds for the AOR (permanent and registered)."""
    shown = subprocess.run(["chroot", str(ASTERISK_ROOT), "asterisk", "-rx", f"pjsip show aor {aor}"],
                           capture_output=True, text=True, timeout=20).stdout  # fmt: skip
    return re.findall(rf"^\s*Contact:\s+{aor}/(sip:\S+)", shown, re.MULTILINE)


def sipp(folder: Path, scenario: str, name: str, log: str, *extra: str) -> tuple[int, str]:
    """One SIPp run from the attacker's (or the named) address; exit code and error log."""
    errors = folder / f"{log}_errors.log"
    args = ["sipp", ASTERISK_SIP, "-sf", str(SIPP_DIR / scenario), "-s", name, "-m", "1",
            "-nostdin", "-timeout", "15", "-timeout_error", "-trace_err", "-error_file", str(errors),
            *extra]  # fmt: skip
    if "-i" not in extra:
        args += ["-i", ATTACKER, "-p", "5090"]
    done = subprocess.run(args, capture_output=True, text=True, cwd=folder, timeout=40)
    return done.returncode, errors.read_text() if errors.exists() else ""


def register(
    folder: Path, name: str, password: str, source: str, contact: str, expires: int = 60
) -> tuple[int, str]:
    port = "5091" if source == ATTACKER else "5070"
    keys = ["-key", "contact", contact, "-key", "expires", str(expires)]
    return sipp(folder, "register_as.xml", name, f"register_{source}_{expires}",
                "-i", source, "-p", port, "-au", name, "-ap", password, *keys)  # fmt: skip


def secret(stack: Stack, name: str) -> str:
    return (Path(stack.env["IVR_STATE_DIR"]) / "secrets" / f"sip_{name}").read_text().strip()


def alarms(stack: Stack) -> list[str]:
    status, health = stack.api("GET", "/api/health")
    assert status == 200
    return [a for a in health["alarms"] if "polisi" in a]


@pytest.fixture
def production(stack: Stack, tmp_path: Path) -> Iterator[Path]:
    """The shipped centre file applied without loopback contacts (phones register); the
    test profile is put back afterwards, and every contact registered meanwhile removed."""
    shipped = centre_config(tmp_path)
    apply(stack, shipped, static_contacts=False)
    try:
        yield shipped
    finally:
        try:
            if contacts("polisi"):  # "Contact: *", Expires 0: every registration of polisi ends
                register(tmp_path, "polisi", secret(stack, "polisi"), POLICE, "*", expires=0)
        finally:
            apply(stack, shipped, static_contacts=True)
        wait_for(lambda: contacts("polisi") == [f"sip:polisi@{POLICE}:5060"], 10, "the test profile back")


def test_nobody_registers_as_an_agency_without_its_password_or_replaces_its_live_phone(
    stack: Stack, production: Path, control_plane: Callable[..., Process], tmp_path: Path
) -> None:
    app = control_plane([], IVR_STATIC_CONTACTS="no")  # the production profile, as applied
    wait_for(lambda: "AMI logged in" in app.output(), 15, "the control plane's AMI login")
    assert contacts("polisi") == []
    # Knowing the name is not enough: challenged, then refused with a wrong password.
    code, errors = sipp(tmp_path, "register_without_credentials.xml", "polisi", "no_credentials")
    assert code == 0, errors  # 401/403, never 200
    assert (
        register(tmp_path, "polisi", "not-the-police-password", ATTACKER, f"<sip:polisi@{ATTACKER}:5091>")[0]
        != 0
    )
    assert contacts("polisi") == []
    assert alarms(stack) == []

    # The police desk phone registers with its generated password; its SIPp answers qualify.
    answering = ["sipp", "-sf", str(SIPP_DIR / "phone_answers.xml"), "-i", POLICE, "-p", "5060",
                 "-mi", POLICE, "-aa", "-nostdin"]  # fmt: skip
    desk = Process(answering, tmp_path / "police_desk.out", cwd=tmp_path)
    try:
        password = secret(stack, "polisi")
        assert register(tmp_path, "polisi", password, POLICE, f"<sip:polisi@{POLICE}:5060>") == (0, "")
        assert contacts("polisi") == [f"sip:polisi@{POLICE}:5060"]
        wait_for(lambda: alarms(stack), 10, "the alarm for the agency's new contact")
        assert f"registered a new contact sip:polisi@{POLICE}:5060" in alarms(stack)[0]

        # A stolen password does not silently take the live desk's place.
        code, errors = register(tmp_path, "polisi", password, ATTACKER, f"<sip:polisi@{ATTACKER}:5091>")
        assert code != 0 and "403" in errors, errors
        assert contacts("polisi") == [f"sip:polisi@{POLICE}:5060"]
    finally:
        desk.stop()

    # The desk goes silent (qualify finds it unreachable): a new registration may replace it,
    # and that change is an alarm naming the new contact, in the log and in /api/health.
    code, errors = 1, ""
    for _ in range(20):  # until qualify has marked the silent desk unreachable
        code, errors = register(tmp_path, "polisi", password, ATTACKER, f"<sip:polisi@{ATTACKER}:5091>")
        if code == 0:
            break
    assert code == 0, errors
    assert contacts("polisi") == [f"sip:polisi@{ATTACKER}:5091"]
    wait_for(lambda: any(ATTACKER in a for a in alarms(stack)), 10, "the alarm for the changed contact")
    assert any("ALARM agency phone polisi" in line and ATTACKER in line for line in app.output().splitlines())


def test_an_agency_at_a_fixed_address_accepts_no_register(
    stack: Stack, production: Path, tmp_path: Path
) -> None:
    fixed = tmp_path / "fixed.yaml"
    at_address = f'code: "4", addresses: {{polisi: "{POLICE}:5060"}}}}'
    fixed.write_text(production.read_text().replace('code: "4"}', at_address))
    apply(stack, fixed, static_contacts=False)
    assert contacts("polisi") == [f"sip:polisi@{POLICE}:5060"]
    code, errors = sipp(tmp_path, "register_without_credentials.xml", "polisi", "fixed_no_credentials")
    assert code == 0, errors
    # Not even with the password a registering desk would have had.
    assert (
        register(tmp_path, "polisi", secret(stack, "polisi"), ATTACKER, f"<sip:polisi@{ATTACKER}:5091>")[0]
        != 0
    )
    assert contacts("polisi") == [f"sip:polisi@{POLICE}:5060"]


def test_nobody_poses_as_an_operators_trunk_from_another_address(
    stack: Stack, production: Path, control_plane: Callable[..., Process], tmp_path: Path
) -> None:
    control_plane([])
    before = stack.call_ids()
    for trunk in ("indosat", "carrier", "telkom"):
        code, errors = sipp(tmp_path, "caller_posing_as_trunk.xml", "112", f"posing_{trunk}",
                            "-key", "trunk", trunk, "-key", "pai", "0401312999")  # fmt: skip
        assert code == 0, errors  # refused with 401/403: never answered
    assert stack.channels() == []
    assert stack.call_ids() == before
