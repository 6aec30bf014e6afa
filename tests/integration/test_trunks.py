"""Every operator's trunk on the real stack: calls from two operators on their own
loopback addresses both reach the flow with the number from P-Asserted-Identity (not
the handset's From); an operator's "Privacy: id" keeps the number in the record while
the call taker's phone sees "anonymous"; a source that is no trunk is refused before
any call exists."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.stack import ASTERISK_SIP, SIPP_DIR, Process, Stack, wait_for

pytestmark = pytest.mark.integration


def operator_call(folder: Path, address: str, handset: str, pai: str, privacy: str, port: int) -> Process:
    args = ["sipp", ASTERISK_SIP, "-sf", str(SIPP_DIR / "caller_operator.xml"), "-s", "112",
            "-i", address, "-p", str(port), "-mi", address, "-mp", str(6000 + 10 * (port - 5060)),
            "-key", "caller", handset, "-key", "pai", pai, "-key", "privacy", privacy,
            "-m", "1", "-d", "15000", "-nostdin", "-timeout", "60", "-timeout_error",
            "-trace_err", "-error_file", str(folder / f"operator_{address}.log")]  # fmt: skip
    return Process(args, folder / f"operator_{address}.out", cwd=folder)


def record_of(stack: Stack, before: list[str], caller: str) -> dict[str, object]:
    def found() -> dict[str, object] | None:
        for call_id in stack.call_ids():
            if call_id not in before and (record := stack.record(call_id)).get("caller") == caller:
                return record | {"call_id": call_id}
        return None

    return wait_for(found, 20, f"a call from {caller}")


def test_two_operators_reach_the_flow_with_their_asserted_numbers_and_privacy_is_respected(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    control_plane(["taker01", "taker02"])
    phones("taker01")
    phones("taker02")
    before = stack.call_ids()
    shown = operator_call(media, "127.0.0.2", "0811000001", "081300000001", "none", 5062)
    private = operator_call(media, "127.0.0.3", "0811000002", "085700000002", "id", 5063)

    first, second = record_of(stack, before, "081300000001"), record_of(stack, before, "085700000002")
    assert not first.get("withheld") and second.get("withheld") == "yes"
    for record in (first, second):
        stack.wait_entry(str(record["call_id"]), "connected", timeout=40)
    invites = "".join((media / f"taker0{n}_messages.log").read_text() for n in (1, 2))
    assert "081300000001" in invites  # the taker sees the asserted number...
    assert "085700000002" not in invites and "anonymous" in invites  # ...unless it is private
    assert "0811000001" not in invites and "0811000002" not in invites  # never the handset's From
    for call in (shown, private):
        call.popen.wait(timeout=60)
        assert call.popen.returncode == 0, call.output()


def test_a_source_that_is_no_trunk_is_refused(
    stack: Stack, control_plane: Callable[..., Process], media: Path
) -> None:
    control_plane(["taker01"])
    before = stack.call_ids()
    args = ["sipp", ASTERISK_SIP, "-sf", str(SIPP_DIR / "caller_unknown.xml"), "-s", "112",
            "-i", "127.0.0.9", "-p", "5064", "-key", "caller", "081200000009", "-m", "1",
            "-nostdin", "-timeout", "20", "-timeout_error"]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, cwd=media, timeout=40)
    assert done.returncode == 0, done.stdout[-2000:]  # refused with 401/403, never answered
    assert stack.call_ids() == before and stack.channels() == []
