"""Fixtures for the real stack: one Asterisk + Redis per session, a control plane and
SIPp phones per test, all stopped by pid at the end of their scope."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.stack import (
    Process,
    Stack,
    make_audio,
    start_control_plane,
    start_phone,
    start_stack,
    stop_stack,
    wait_for,
    wait_ready,
)

# The tests judge speech detection's verdicts, on a machine that the tests themselves
# (pytest, Asterisk, SIPp, a control plane on 2 cores) often saturate, where a centre's
# default busy limit would screen callers by energy instead: every control plane the tests
# start, single or clustered, takes callers however busy the machine is, unless a test
# sets a limit (test_screening.py does, to see the limit work).
os.environ.setdefault("IVR_SCREENING_BUSY_LIMIT", "1")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    started = start_stack(tmp_path_factory.mktemp("stack"))
    try:
        yield started
    finally:
        stop_stack(started)


@pytest.fixture(autouse=True)
def no_process_outlives_its_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Whatever a test started (SIPp, control planes, ...) is stopped by pid at its end, and
    whatever it left in Asterisk (a stopped SIPp sends no BYE; a failed test stops before its
    callers hang up) is hung up, so the next test starts from an empty Asterisk."""
    Process.started.clear()
    yield
    for process in reversed(Process.started):
        if process.alive():
            process.stop()
    Process.started.clear()
    if "stack" in request.fixturenames:
        with contextlib.suppress(OSError):  # Asterisk is not up (a test of its restart)
            clear_asterisk(request.getfixturevalue("stack"))


def clear_asterisk(stack: Stack) -> None:
    for channel in stack.channels():
        stack.ari("DELETE", f"/channels/{channel['id']}")
    for bridge in stack.ari("GET", "/bridges")[1] or []:
        stack.ari("DELETE", f"/bridges/{bridge['id']}")
    wait_for(lambda: not stack.channels(), 10, "Asterisk to have no channel left after the test")
    # The native queue's lines of this test's calls would become records in the next
    # test's control plane; the dialplan records every call again.
    stack.clear_native_lines()
    stack.ari("POST", stack.variable("IVR_RECORD") + "&value=yes")


@pytest.fixture
def media(tmp_path: Path) -> Path:
    make_audio(tmp_path)
    return tmp_path


@pytest.fixture
def phones(stack: Stack, media: Path) -> Iterator[Callable[..., Process]]:
    running: list[tuple[str, Process]] = []

    def start(taker: str, scenario: str = "phone_answers.xml", hold_ms: int = 3000) -> Process:
        phone = start_phone(stack, taker, scenario, media, hold_ms)
        running.append((taker, phone))
        return phone

    yield start
    for _, phone in running:
        phone.stop()
    for taker, _ in running:  # the next test must not see these phones as reachable
        wait_for(lambda t=taker: stack.endpoint_state(t) == "offline", 10, f"{taker} to go offline")


@pytest.fixture
def control_plane(stack: Stack, tmp_path: Path) -> Iterator[Callable[..., Process]]:
    running: list[Process] = []

    def start(takers: list[str], **extra: str) -> Process:
        """Starts the control plane and logs `takers` in through the HTTP API."""
        app = start_control_plane(stack, tmp_path / f"control-plane-{len(running)}.log", **extra)
        running.append(app)
        if "IVR_ARI_URL" not in extra:
            wait_ready(stack, app)
            stack.login(*takers)
        return app

    yield start
    for app in running:
        app.stop()
