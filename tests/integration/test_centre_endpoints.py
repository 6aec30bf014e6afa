"""One list of phones on the real stack: a call taker added to the centre file becomes
a SIP endpoint that registers with its own generated password and a member of the
native fallback queue after `python -m ivr config apply`; removed, it is gone from
both; the call in conversation meanwhile keeps its audio and ends normally."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.stack import ASTERISK_ROOT, REPO, Process, Stack, centre_config, place_call, wait_for
from tests.integration.test_phones import register

pytestmark = pytest.mark.integration
NEW_TAKER = "  - {id: taker21, name: Ibu Sari, endpoint: PJSIP/taker21, employment: contract}"


def apply(stack: Stack, config: Path) -> subprocess.CompletedProcess[str]:
    env = stack.env | {
        "IVR_CENTRE_CONFIG": str(config),
        "IVR_ASTERISK_ETC": str(ASTERISK_ROOT / "etc/asterisk"),
    }
    return subprocess.run([sys.executable, "-m", "ivr", "config", "apply"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def fallback_members() -> list[str]:
    shown = subprocess.run(["chroot", str(ASTERISK_ROOT), "asterisk", "-rx", "queue show takers-fallback"],
                           capture_output=True, text=True, timeout=20).stdout  # fmt: skip
    return re.findall(r"PJSIP/(\w+)", shown)


def pjsip_has(name: str) -> bool:
    shown = subprocess.run(["chroot", str(ASTERISK_ROOT), "asterisk", "-rx", f"pjsip show endpoint {name}"],
                           capture_output=True, text=True, timeout=20).stdout  # fmt: skip
    return f"Endpoint:  {name}" in shown


def rtp_moves(stack: Stack, channel: str) -> bool:
    first = stack.rtp_counts(channel)
    threading.Event().wait(1.0)
    last = stack.rtp_counts(channel)
    return last[0] > first[0] and last[1] > first[1]


def test_a_taker_added_and_removed_in_the_centre_file_follows_in_asterisk_without_dropping_a_call(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    shipped = centre_config(tmp_path)
    control_plane(["taker01"], IVR_CENTRE_CONFIG=str(shipped))
    phones("taker01", "phone_answers.xml")
    before = stack.call_ids()
    call = place_call(media, "112", hold_ms=30000, caller="081277700021", wait=False)
    call_id = stack.new_call_id(before)
    record = stack.wait_entry(call_id, "connected", timeout=30)
    assert not pjsip_has("taker21")

    grown = tmp_path / "grown.yaml"
    grown.write_text(shipped.read_text().replace("takers:\n", f"takers:\n{NEW_TAKER}\n", 1))
    done = apply(stack, grown)
    assert done.returncode == 0, done.stderr
    assert "reloaded res_pjsip.so" in done.stdout and "reloaded app_queue.so" in done.stdout
    wait_for(lambda: pjsip_has("taker21"), 10, "taker21 in Asterisk")
    assert "taker21" in fallback_members()
    password = (Path(stack.env["IVR_STATE_DIR"]) / "secrets" / "sip_taker21").read_text().strip()
    assert register("taker21", password, tmp_path)[0] == 0  # its own generated password works
    assert register("taker21", password + "x", tmp_path)[0] != 0
    assert rtp_moves(stack, call_id) and rtp_moves(stack, record["taker_channel"])  # the call goes on

    done = apply(stack, shipped)
    assert done.returncode == 0, done.stderr
    wait_for(lambda: not pjsip_has("taker21"), 10, "taker21 gone from pjsip")
    assert "taker21" not in fallback_members() and "taker20" in fallback_members()
    assert rtp_moves(stack, call_id)
    call.popen.wait(timeout=60)
    assert stack.wait_ended(call_id, timeout=20)["outcome"] == "answered"


def test_an_invalid_centre_file_changes_nothing(stack: Stack, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        centre_config(tmp_path).read_text().replace("endpoint: PJSIP/taker05", "endpoint: taker05")
    )
    generated = ASTERISK_ROOT / "etc/asterisk/centre/pjsip_centre.conf"
    before = generated.read_text()
    done = apply(stack, broken)
    assert done.returncode == 1 and "takers" in done.stderr and "not applied" in done.stderr
    assert generated.read_text() == before
