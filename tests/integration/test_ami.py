"""AMI on the real stack: the control plane reads each call taker's phone as PJSIP sees it
(qualify status and round-trip time) and shows it; a phone that stops answering qualify
is marked unreachable (not offered calls); when the call-taker list changes, a
configuration reload makes Asterisk reload pjsip and the new call taker is watched."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.stack import Process, Stack, centre_config, wait_for

pytestmark = pytest.mark.integration


def taker(stack: Stack, taker_id: str) -> dict[str, Any] | None:
    return next((a for a in stack.api("GET", "/api/takers")[1] if a["id"] == taker_id), None)


def phone_status(stack: Stack, taker_id: str) -> str | None:
    found = taker(stack, taker_id)
    return found["phone"]["status"] if found and found["phone"] else None


def test_phones_are_watched_through_ami_and_pjsip_reloads_when_the_takers_change(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], tmp_path: Path
) -> None:
    config = centre_config(tmp_path)
    full = config.read_text()
    without_taker20, removed = re.subn(r"\n  - \{id: taker20,[^\n]*", "", full)
    assert removed == 1
    config.write_text(without_taker20)
    app = control_plane(["taker04"], IVR_CENTRE_CONFIG=str(config))
    assert taker(stack, "taker20") is None

    phone = phones("taker04")
    wait_for(lambda: phone_status(stack, "taker04") == "Reachable", 15, "taker04's phone reachable in AMI")
    assert taker(stack, "taker04")["phone"]["rtt_ms"] > 0
    phone.stop()
    wait_for(lambda: phone_status(stack, "taker04") == "Unreachable", 15, "taker04's phone unreachable")
    assert taker(stack, "taker04")["reachable"] is False

    config.write_text(full)  # taker20 is back in the list
    status, body = stack.api("POST", "/api/config/reload")
    assert status == 200 and body["pjsip_reload"] == "requested" and body["takers"] == 20
    wait_for(lambda: "pjsip reloaded" in app.output(), 15, "Asterisk to reload pjsip")
    wait_for(lambda: taker(stack, "taker20") is not None, 5, "taker20 listed")
    # no phone answers for taker20 (its endpoint's state reaches the control plane after the reload)
    wait_for(lambda: taker(stack, "taker20")["reachable"] is False, 5, "taker20 unreachable")

    status, body = stack.api("POST", "/api/config/reload")  # nothing changed: no reload
    assert status == 200 and body["pjsip_reload"] == "not needed"
