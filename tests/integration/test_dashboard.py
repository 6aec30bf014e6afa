"""The live dashboard on the real stack, in the Debian chromium (headless, through
chromium-driver): a SIPp call shows on the supervisor's wallboard while it waits, moves
to the call taker when answered, and the call taker's desk pops it up and records the
disposition clicked, all under the page's Content-Security-Policy (no violation in the
console). A "#token=" link never switches an open session to another user; an engineer's
wallboard shows the call takers and screening only; a page of another origin cannot
open the feed. The feed itself: a wrong token is refused, a call taker sees only
themselves. Screenshots are saved under test-artifacts/dashboard/ (or $IVR_TEST_ARTIFACTS)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.stack import REPO, Process, Stack, centre_config, place_call, users_file, wait_for

pytestmark = pytest.mark.integration

TOKENS = {
    "taker06": "taker06-desk-token-0001",
    "sup": "supervisor-wall-token-01",
    "eng": "engineer-wall-token-001",
}
ARTIFACTS = Path(os.environ.get("IVR_TEST_ARTIFACTS", REPO / "test-artifacts")) / "dashboard"


def users(folder: Path) -> Path:
    return users_file(folder, {"taker06": (TOKENS["taker06"], "call-taker", "taker06"),
                               "sup": (TOKENS["sup"], "supervisor", ""),
                               "eng": (TOKENS["eng"], "engineer", "")})  # fmt: skip


@pytest.fixture
def browser() -> Iterator[Callable[[], WebDriver]]:
    opened: list[WebDriver] = []

    def open_one() -> WebDriver:
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1600,1000"):  # fmt: skip
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console: CSP violations
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        opened.append(driver)
        return driver

    yield open_one
    for driver in opened:
        driver.quit()


def until(driver: WebDriver, css: str, what: str, timeout: float = 20) -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, css), message=f"waiting for {what} ({css})"
    )[0]


def screenshot(driver: WebDriver, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def open_dashboard(driver: WebDriver, stack: Stack, token: str) -> None:
    driver.get(f"http://127.0.0.1:{stack.api_port}/dashboard/#token={token}")
    until(driver, '#conn[data-state="live"]', "the live feed")


def no_policy_violation(driver: WebDriver) -> None:
    """Nothing the page did was blocked by its Content-Security-Policy, and no script failed."""
    logged = driver.get_log("browser")
    problems = [e["message"] for e in logged if e["level"] == "SEVERE" or "Content Security" in e["message"]]
    assert problems == [], problems


def test_a_call_moves_across_the_wallboard_and_pops_up_on_the_takers_desk(
    stack: Stack,
    control_plane: Callable[..., Process],
    phones: Callable[..., Process],
    browser: Callable[[], WebDriver],
    media: Path,
    tmp_path: Path,
) -> None:
    control_plane([], IVR_USERS_FILE=str(users(tmp_path)))
    phones("taker06", "phone_answers.xml")
    wall = browser()
    open_dashboard(wall, stack, TOKENS["sup"])
    assert wall.find_element(By.ID, "wallboard").get_attribute("hidden") is None
    assert len(wall.find_elements(By.CSS_SELECTOR, "#takers [data-taker]")) == 20
    until(wall, '#kpis [data-kpi="answered_within_10"]', "the key figures")
    until(wall, "#chart-hour rect, #chart-hour path", "the calls-per-hour chart")

    before = stack.call_ids()
    call = place_call(media, "112", hold_ms=30000, caller="081288800006", wait=False)
    call_id = stack.new_call_id(before)
    row = until(wall, f'#waiting tr[data-call="{call_id}"]', "the caller on the waiting list", timeout=30)
    assert "081288800006" in row.text
    screenshot(wall, "1-wallboard-waiting")

    stack.login("taker06")  # the only call taker: the call goes to taker06
    until(wall, '#takers [data-taker="taker06"][data-activity="on-call"]', "taker06 on the call", timeout=30)
    until(
        wall, f'#calls tr[data-call="{call_id}"][data-taker="taker06"][data-phase="connected"]', "connected"
    )
    WebDriverWait(wall, 10).until(
        lambda d: not d.find_elements(By.CSS_SELECTOR, f'#waiting tr[data-call="{call_id}"]'),
        message="the caller off the waiting list",
    )
    screenshot(wall, "2-wallboard-connected")

    desk = browser()
    open_dashboard(desk, stack, TOKENS["taker06"])
    assert desk.find_element(By.ID, "desk").get_attribute("hidden") is None
    popup = until(desk, f'#my-call[data-call="{call_id}"]', "the call popped up on the desk")
    assert "081288800006" in popup.text
    assert desk.find_elements(By.CSS_SELECTOR, "#my-call button[data-agency='damkar']")
    screenshot(desk, "3-desk-call")
    desk.find_element(By.CSS_SELECTOR, '#my-call button[data-disposition="genuine"]').click()
    until(desk, '#my-call button[data-disposition="genuine"][aria-pressed="true"]', "the disposition marked")
    assert stack.record(call_id)["disposition"] == "genuine"
    assert call.popen.wait(timeout=60) == 0, call.output()
    until(desk, f'#my-call[data-call="{call_id}"][data-ended="true"]', "the call shown as ended")
    cue = until(desk, "#my-call .cues li", "why the call was screened so (its cues)", timeout=20)
    assert "speech (Silero)" in cue.text  # the evidence the verdict rests on, on the desk
    screenshot(desk, "4-desk-after-the-call")
    no_policy_violation(wall)
    no_policy_violation(desk)


def shown(driver: WebDriver, css: str) -> bool:
    script = "const e = document.querySelector(arguments[0]); return !!e && e.offsetParent !== null;"
    return bool(driver.execute_script(script, css))


def who(driver: WebDriver) -> str:
    return str(driver.find_element(By.ID, "who").text)


def test_a_token_link_never_switches_an_open_session_to_another_user(
    stack: Stack, control_plane: Callable[..., Process], browser: Callable[[], WebDriver], tmp_path: Path
) -> None:
    control_plane(["taker06"], IVR_USERS_FILE=str(users(tmp_path)))
    page = browser()
    open_dashboard(page, stack, TOKENS["sup"])
    assert who(page).startswith("sup")
    page.execute_script("location.hash = arguments[0]", f"#token={TOKENS['taker06']}")
    toast = until(page, '#toast[data-kind="error"]:not([hidden])', "the message to sign out first", 5)
    assert "Keluar dasbor dulu" in toast.text
    assert "token=" not in page.current_url  # the other user's token is dropped from the address
    time.sleep(1.5)  # a few snapshots later: still the supervisor's wallboard
    assert who(page).startswith("sup") and shown(page, "#wallboard") and not shown(page, "#tab-desk")
    screenshot(page, "5-link-of-another-user-refused")

    page.execute_script("location.hash = arguments[0]; location.reload()", f"#token={TOKENS['taker06']}")
    until(page, '#conn[data-state="live"]', "the live feed after the reload")
    until(page, '#toast[data-kind="error"]:not([hidden])', "the message after the reload", 5)
    assert who(page).startswith("sup") and "token=" not in page.current_url

    page.execute_script("location.hash = arguments[0]", f"#token={TOKENS['sup']}")  # its own: no change
    time.sleep(0.5)
    assert who(page).startswith("sup") and "token=" not in page.current_url

    page.find_element(By.ID, "signout").click()
    until(page, "#login-view:not([hidden])", "the sign-in form")
    page.execute_script("location.hash = arguments[0]", f"#token={TOKENS['taker06']}")
    until(page, '#conn[data-state="live"]', "the live feed of the call taker")
    WebDriverWait(page, 10).until(lambda d: who(d).startswith("taker06"), message="the call taker signed in")
    assert shown(page, "#desk")
    no_policy_violation(page)


def test_an_engineer_sees_the_call_takers_and_screening_but_no_caller(
    stack: Stack,
    control_plane: Callable[..., Process],
    browser: Callable[[], WebDriver],
    media: Path,
    tmp_path: Path,
) -> None:
    control_plane([], IVR_USERS_FILE=str(users(tmp_path)))
    before = stack.call_ids()
    call = place_call(media, "112", hold_ms=15000, caller="081288800016", wait=False)
    call_id = stack.new_call_id(before)
    wall = browser()
    open_dashboard(wall, stack, TOKENS["sup"])
    until(wall, f'#waiting tr[data-call="{call_id}"]', "the caller on the supervisor's wallboard", timeout=30)
    page = browser()
    open_dashboard(page, stack, TOKENS["eng"])
    until(page, '#takers [data-taker="taker06"]', "the call takers on the engineer's wallboard")
    assert len(page.find_elements(By.CSS_SELECTOR, "#takers [data-taker]")) == 20
    until(page, '#screening dd[data-screening="running"]', "the screening figures")
    for panel in (".kpi-panel", ".waiting-panel", ".calls-panel", ".charts-panel", "#callbacks-panel"):
        assert not shown(page, panel), panel
    assert shown(page, ".takers-panel") and shown(page, ".screening-panel")
    assert "081288800016" not in page.find_element(By.TAG_NAME, "body").text
    screenshot(page, "6-engineer-wallboard")
    no_policy_violation(page)
    call.popen.wait(timeout=60)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


OPEN_FEED = """
const [url, token, done] = arguments;
const ws = new WebSocket(url);
ws.onopen = () => ws.send(JSON.stringify({token}));
ws.onmessage = (event) => done("message: " + JSON.parse(event.data).type);
ws.onclose = () => done("closed");
"""


def test_a_page_of_another_origin_cannot_open_the_feed(
    stack: Stack, control_plane: Callable[..., Process], browser: Callable[[], WebDriver], tmp_path: Path
) -> None:
    control_plane([], IVR_USERS_FILE=str(users(tmp_path)))
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>another site</title><p>elsewhere</p>")
    port = free_port()
    serve = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(site)]
    other = Process(serve, tmp_path / "other-site.log")
    try:
        page = browser()
        page.set_script_timeout(15)

        def other_site_shown() -> bool:
            page.get(f"http://127.0.0.1:{port}/")
            return "another site" in page.title

        wait_for(other_site_shown, 10, "the other site", interval=0.3)
        feed_url = f"ws://127.0.0.1:{stack.api_port}/api/live"
        assert page.execute_async_script(OPEN_FEED, feed_url, TOKENS["sup"]) == "closed"
        open_dashboard(page, stack, TOKENS["sup"])  # the dashboard's own page: the feed opens
        assert page.execute_async_script(OPEN_FEED, feed_url, TOKENS["sup"]) == "message: snapshot"
    finally:
        other.stop()


async def feed(stack: Stack, token: str, count: int = 1) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{stack.api_port}/api/live"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_str(json.dumps({"token": token}))
        return [json.loads((await ws.receive(timeout=10)).data) for _ in range(count)]


def test_the_feed_refuses_a_wrong_token_and_shows_a_call_taker_only_themselves(
    stack: Stack, control_plane: Callable[..., Process], tmp_path: Path
) -> None:
    control_plane(["taker06"], IVR_USERS_FILE=str(users(tmp_path)))
    [refused] = asyncio.run(feed(stack, "not-a-user-token-at-all"))
    assert refused == {"type": "error", "error": "missing or wrong token"}
    [mine] = asyncio.run(feed(stack, TOKENS["taker06"]))
    assert [a["id"] for a in mine["takers"]] == ["taker06"] and mine["takers"][0]["declared"] == "available"
    assert "waiting" not in mine and mine["calls"] == [] and "kpis" not in mine
    assert mine["user"] == {
        "name": "taker06",
        "roles": ["call-taker"],
        "taker": "taker06",
        "agent": "taker06",
    }
    [wall] = asyncio.run(feed(stack, TOKENS["sup"]))
    assert len(wall["takers"]) == 20 and wall["kpis"] is not None and "my_call" not in wall
    assert {a["id"] for a in wall["agencies"]} == {"damkar", "ambulans", "bpbd", "polisi"}


def test_the_wallboard_shows_the_service_level_against_its_target_and_turns_red_when_missed(
    stack: Stack,
    control_plane: Callable[..., Process],
    phones: Callable[..., Process],
    browser: Callable[[], WebDriver],
    media: Path,
    tmp_path: Path,
) -> None:
    config = centre_config(tmp_path)
    text = config.read_text()
    shipped = (
        "    - {answer_within_seconds: 15, target: 0.90}\n    - {answer_within_seconds: 20, target: 0.95}\n"
    )
    assert shipped in text and "alarm_after_minutes: 10" in text
    config.write_text(  # one tier; missed at all is an alarm at once
        text.replace(shipped, "    - {answer_within_seconds: 15, target: 0.90}\n").replace(
            "alarm_after_minutes: 10", "alarm_after_minutes: 0"
        )
    )
    archive = str(tmp_path / "calls.sqlite3")  # its own: the session's holds earlier tests' calls
    control_plane(
        ["taker06"],
        IVR_USERS_FILE=str(users(tmp_path)),
        IVR_CENTRE_CONFIG=str(config),
        IVR_ARCHIVE_PATH=archive,
    )
    phones("taker06", "phone_answers.xml")
    stack.login("taker06")
    wall = browser()
    open_dashboard(wall, stack, TOKENS["sup"])
    until(wall, '#service-level [data-sl="15"][data-standing="no-calls"]', "the tier, with no call yet")

    before = stack.call_ids()  # taker06 is free: answered within seconds
    assert place_call(media, "112", hold_ms=3000, caller="081288800016").popen.returncode == 0
    stack.wait_ended(stack.new_call_id(before), timeout=15)
    tile = until(wall, '#service-level [data-sl="15"][data-standing="met"]', "the target met", timeout=30)
    assert "100%" in tile.text and "90%" in tile.text
    screenshot(wall, "5-service-level-met")

    assert stack.api("POST", "/api/takers/taker06/logout")[0] == 200
    before = stack.call_ids()  # nobody to answer: the caller gives up during the greeting
    place_call(media, "112", hold_ms=3000, caller="081288800017")
    assert stack.wait_ended(stack.new_call_id(before), timeout=15)["outcome"] == "abandoned-in-greeting"
    tile = until(wall, '#service-level [data-sl="15"][data-standing="alarm"]', "the tier red", timeout=30)
    assert "50%" in tile.text
    assert tile.value_of_css_property("background-color") == "rgba(142, 0, 0, 1)"  # red, as the wall shows it
    screenshot(wall, "6-service-level-missed")
    alarms = stack.api("GET", "/api/health")[1]["alarms"]
    assert any(a.startswith("service level: 50% of calls answered within 15 s") for a in alarms), alarms
    (tier,) = stack.api("GET", "/api/service-level")[1]["tiers"]  # the same, for other tools
    assert (tier["within_seconds"], tier["share"], tier["standing"]) == (15, 0.5, "alarm")
    metrics = stack.api_text("/metrics")[1]
    assert 'ivr112_service_level{within="15"} 0.5' in metrics
    assert 'ivr112_service_level_target{within="15"} 0.9' in metrics
    assert 'ivr112_answer_seconds_bucket{le="15"} 1' in metrics
    no_policy_violation(wall)
