# The watchdog's loop (ivr.watchdog.Watchdog.check_once) with a fake Asterisk and a fake
# health check, on a fake clock: nothing happens within the grace time; past it every
# stranded caller is redirected to the native queue (after its variable is set), the
# helpers hung up, our bridges destroyed, an ALARM logged and the status file says so;
# an AMI failure is retried at the next check; the control plane answering again is BACK.
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from ivr.adapters.ami_channels import AmiUnavailable
from ivr.adapters.watchdog_status import StatusFile, read_status
from ivr.core.handover import Bridge, Leg
from ivr.settings import WatchdogSettings
from ivr.watchdog import HANDOVER, Watchdog

APP = "ivr112"


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeAsterisk:
    def __init__(self, legs: list[Leg], bridges: list[Bridge]) -> None:
        self.legs, self.bridges = legs, bridges
        self.actions: list[tuple[str, ...]] = []
        self.failing = False

    async def listing(self) -> tuple[list[Leg], list[Bridge]]:
        if self.failing:
            raise AmiUnavailable("not logged in to AMI")
        return list(self.legs), list(self.bridges)

    async def redirect(self, leg: Leg, *where: str) -> None:
        self.actions.append(("redirect", leg.id, *where))
        self.legs = [
            Leg(leg.id, leg.name, "Queue", "takers-fallback,r") if x.id == leg.id else x for x in self.legs
        ]

    async def hangup(self, leg: Leg) -> None:
        self.actions.append(("hangup", leg.id))
        self.legs = [x for x in self.legs if x.id != leg.id]

    async def destroy_bridge(self, bridge: str) -> None:
        self.actions.append(("destroy", bridge))
        self.bridges = [b for b in self.bridges if b.id != bridge]


class FakeHealth:
    def __init__(self) -> None:
        self.answer = (True, "answering")

    async def check(self) -> tuple[bool, str]:
        return self.answer


def stranded() -> tuple[list[Leg], list[Bridge]]:
    legs = [
        Leg("1.1", "PJSIP/carrier-01", "Stasis", f"{APP},caller,112,shown"),
        Leg("1.1-snoop", "Snoop/1.1-1", "Stasis", f"{APP},screen,1.1", "1.1-screen"),
        Leg("1.1-rec", "Snoop/1.1-0", "Stasis", f"{APP},record,1.1"),
    ]
    return legs, [Bridge("1.1-screen")]


@pytest.fixture
def rig(tmp_path: Path) -> tuple[Watchdog, FakeAsterisk, FakeHealth, Clock, Path]:
    settings = WatchdogSettings(
        watchdog_ami_password="x" * 8, development=True, watchdog_status=tmp_path / "w.json"
    )
    asterisk, health, clock = FakeAsterisk(*stranded()), FakeHealth(), Clock()
    status = StatusFile(settings.watchdog_status)
    dog = Watchdog(settings, asterisk, health, status, None, clock)  # type: ignore[arg-type]
    return dog, asterisk, health, clock, settings.watchdog_status


async def checks(dog: Watchdog, clock: Clock, seconds: list[float]) -> None:
    for at in seconds:
        clock.now = 1000.0 + at
        await dog.check_once()


async def test_nothing_is_done_within_the_grace_time(rig: Any) -> None:
    dog, asterisk, health, clock, path = rig
    await checks(dog, clock, [0.0])
    assert read_status(path)["control_plane"] == "up"
    health.answer = (False, "health unreachable (ClientConnectorError)")
    await checks(dog, clock, [0.5, 2.0, 4.9])
    assert asterisk.actions == [] and read_status(path)["control_plane"] == "up"


async def test_past_the_grace_time_callers_go_to_the_native_queue_and_helpers_go(
    rig: Any, caplog: pytest.LogCaptureFixture
) -> None:
    dog, asterisk, health, clock, path = rig
    health.answer = (False, "health did not answer within 1 s (hung?)")
    with caplog.at_level(logging.ERROR):
        await checks(dog, clock, [0.0, 5.0])
    assert asterisk.actions == [
        ("redirect", "1.1", *HANDOVER),
        ("hangup", "1.1-snoop"),
        ("destroy", "1.1-screen"),
    ]
    status = read_status(path)
    assert status["control_plane"] == "gone" and status["last_handover"]["callers"] == 1
    assert "ALARM control plane gone for 5.0 s (health did not answer within 1 s (hung?))" in caplog.text
    await checks(dog, clock, [5.5])  # nothing left to do: no second alarm, the recorder records on
    assert len(asterisk.actions) == 3 and caplog.text.count("ALARM") == 1

    health.answer = (True, "answering")
    await checks(dog, clock, [9.0])
    assert read_status(path)["control_plane"] == "up" and read_status(path)["last_handover"]["callers"] == 1


async def test_an_ami_failure_is_tried_again_at_the_next_check(rig: Any) -> None:
    dog, asterisk, health, clock, path = rig
    health.answer = (False, "health unreachable (ClientConnectorError)")
    asterisk.failing = True
    await checks(dog, clock, [0.0, 5.0])
    assert asterisk.actions == [] and read_status(path)["last_handover"] is None
    asterisk.failing = False
    await checks(dog, clock, [5.5])
    assert asterisk.actions[0] == ("redirect", "1.1", *HANDOVER)


async def test_ami_away_during_an_outage_is_said_once_not_at_every_check(
    rig: Any, caplog: pytest.LogCaptureFixture
) -> None:
    dog, asterisk, health, clock, _ = rig
    health.answer = (False, "it answers, but is not connected to Asterisk (ARI)")  # Asterisk restarting
    asterisk.failing = True
    with caplog.at_level(logging.ERROR):
        await checks(dog, clock, [0.0, 5.0, 5.5, 6.0, 6.5])
    assert caplog.text.count("AMI unavailable") == 1
