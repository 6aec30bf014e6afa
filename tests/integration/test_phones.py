"""Call-taker phones: they register with digest auth (a wrong password is refused),
and a phone that rings unanswered hands the caller to the next free call taker."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.stack import (
    ASTERISK_SIP,
    SIPP_DIR,
    Process,
    Stack,
    centre_config,
    place_call,
    taker_ip,
)

pytestmark = pytest.mark.integration


def register(taker: str, password: str, folder: Path) -> tuple[int, str]:
    """REGISTER as `taker`; returns SIPp's exit code and its error log."""
    errors = folder / f"register_{password[-1]}.log"
    # A port of its own, so it never collides with a phone SIPp on the taker's address.
    args = [
        "sipp",
        ASTERISK_SIP,
        "-sf",
        str(SIPP_DIR / "register.xml"),
        "-s",
        taker,
        "-au",
        taker,
        "-ap",
        password,
        "-i",
        taker_ip(taker),
        "-p",
        "5070",
        "-m",
        "1",
        "-nostdin",
        "-timeout",
        "10",
        "-timeout_error",
        "-trace_err",
        "-error_file",
        str(errors),
    ]
    done = subprocess.run(args, capture_output=True, text=True, cwd=folder, timeout=30)
    return done.returncode, errors.read_text() if errors.exists() else ""


def test_taker_registers_with_digest_auth_and_a_wrong_password_is_refused(
    stack: Stack, tmp_path: Path
) -> None:
    secret = (Path(stack.env["IVR_STATE_DIR"]) / "secrets" / "sip_taker09").read_text().strip()
    code, errors = register("taker09", secret, tmp_path)
    assert code == 0, errors
    code, errors = register("taker09", secret + "x", tmp_path)
    assert code != 0
    assert "while expecting '200'" in errors and "SIP/2.0 401 Unauthorized" in errors, errors


def test_ring_no_answer_offers_the_caller_to_the_next_taker(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> None:
    control_plane(["taker05", "taker06"], IVR_CENTRE_CONFIG=str(centre_config(media, ring_seconds=5)))
    phones("taker05", "phone_no_answer.xml")
    phones("taker06", "phone_answers.xml")
    before = stack.call_ids()

    call = place_call(media, "112", hold_ms=17000)
    assert call.popen.returncode == 0, call.output()

    record = stack.wait_ended(stack.new_call_id(before))
    offers = [(e["entry"], e.get("taker")) for e in record["timeline"] if "offer" in e["entry"]]
    assert offers == [("offered", "taker05"), ("offer-failed", "taker05"), ("offered", "taker06")]
    rang = next(e["at"] for e in record["timeline"] if e["entry"] == "offer-failed") - next(
        e["at"] for e in record["timeline"] if e["entry"] == "offered"
    )
    assert rang == pytest.approx(5.0, abs=1.0)
    assert record["outcome"] == "answered" and record["taker"] == "taker06"
