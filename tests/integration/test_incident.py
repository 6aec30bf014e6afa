"""The incident record and the city's figures on the real stack, in the Debian chromium: a
call taker fills in the incident of a live SIPp call on their desk, brings in the fire
brigade (Damkar, a SIPp phone) with the desk's button, and after the call has ended
enters Damkar's arrival on scene; the record, its timeline and the archive keep it all;
/api/v1/kpis and the supervisor's wallboard show answer -> agency connected and call ->
agency on scene for fires and for Damkar; an arrival before the call is refused naming
the field. Screenshots under test-artifacts/dashboard/ (or $IVR_TEST_ARTIFACTS)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.integration.stack import Process, Stack, place_call, wait_for
from tests.integration.test_dashboard import (  # noqa: F401 (browser: the fixture)
    TOKENS,
    browser,
    no_policy_violation,
    open_dashboard,
    screenshot,
    until,
    users,
)

pytestmark = pytest.mark.integration


def click(driver: WebDriver, css: str) -> None:
    """Clicks the element as a user would: scrolled to the middle, out from under the sticky header."""
    element = driver.find_element(By.CSS_SELECTOR, css)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def m_ss(seconds: float) -> str:
    """A duration as the wallboard writes it."""
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def test_a_taker_records_the_incident_damkar_arrives_and_the_city_sees_how_fast(
    stack: Stack,
    control_plane: Callable[..., Process],
    phones: Callable[..., Process],
    browser: Callable[[], WebDriver],  # noqa: F811
    media: Path,
    tmp_path: Path,
) -> None:
    archive = str(tmp_path / "calls.sqlite3")  # its own: today's figures are this call's
    control_plane([], IVR_USERS_FILE=str(users(tmp_path)), IVR_ARCHIVE_PATH=archive)
    phones("taker06", "phone_answers.xml")
    phones("damkar", "phone_answers.xml")
    stack.login("taker06")
    desk = browser()
    open_dashboard(desk, stack, TOKENS["taker06"])

    before = stack.call_ids()
    call = place_call(media, "112", hold_ms=20000, caller="081299900022", wait=False)
    call_id = stack.new_call_id(before)
    stack.wait_entry(call_id, "connected", timeout=30)
    until(desk, f'#incident[data-call="{call_id}"][data-saved="false"]', "the incident form of the call", 20)
    Select(desk.find_element(By.ID, "incident-type")).select_by_value("fire")
    desk.find_element(By.ID, "incident-address").send_keys("Jl. Saranani No. 12")
    desk.find_element(By.ID, "incident-kelurahan").send_keys("Mandonga")
    desk.find_element(By.ID, "incident-notes").send_keys("Gudang terbakar, dua orang di dalam")
    click(desk, "#incident-save")
    until(desk, f'#incident[data-call="{call_id}"][data-saved="true"]', "the incident saved")
    status, body = stack.api("GET", f"/api/v1/calls/{call_id}/incident")
    saved = body["incident"]
    assert status == 200 and (saved["type"], saved["address"], saved["kelurahan"]) == (
        "fire", "Jl. Saranani No. 12", "Mandonga",
    )  # fmt: skip
    assert saved["notes"] == "Gudang terbakar, dua orang di dalam" and saved["updated_by"] == "taker06"
    arrive = desk.find_element(By.CSS_SELECTOR, '#incident-agencies li[data-agency="damkar"] .arrived-now')
    assert not arrive.is_enabled()  # Damkar has neither joined nor been sent yet

    click(desk, '#my-call button[data-agency="damkar"]')
    record = stack.wait_entry(call_id, "agency-joined", timeout=25)
    joined = next(e["at"] for e in record["timeline"] if e["entry"] == "agency-joined")
    until(desk, '#incident-agencies li[data-agency="damkar"] .leg-joined', "Damkar connected, on the form")
    assert desk.find_element(By.ID, "incident-kelurahan").get_attribute("value") == "Mandonga"
    screenshot(desk, "incident-1-live-call")

    assert call.popen.wait(timeout=60) == 0, call.output()
    record = stack.wait_ended(call_id, timeout=15)
    until(desk, f'#my-call[data-call="{call_id}"][data-ended="true"]', "the call shown as ended")
    arrive = until(
        desk, '#incident-agencies li[data-agency="damkar"] .arrived-now:enabled', "the arrival button"
    )
    arrive.click()  # later: Damkar reports on scene
    until(desk, '#incident-agencies li[data-agency="damkar"] .arrived-at', "Damkar on scene, on the form")
    screenshot(desk, "incident-2-arrived-after-the-call")

    status, body = stack.api("GET", f"/api/v1/calls/{call_id}")
    (damkar,) = body["incident"]["agencies"]
    assert damkar["agency"] == "damkar" and damkar["joined_at"] == joined
    arrived_at = damkar["arrived_at"]
    ended = next(e["at"] for e in record["timeline"] if e["entry"] == "ended")
    assert ended <= arrived_at  # entered after the call had ended
    entries = [e for e in body["timeline"] if e["entry"] in ("incident", "agency-arrived")]
    assert [(e["entry"], e.get("type") or e.get("agency")) for e in entries] == [
        ("incident", "fire"), ("agency-arrived", "damkar"),
    ]  # fmt: skip
    assert entries[1]["arrival_by"] == "taker06"

    started = float(body["arrived_at"])
    answered = next(e["at"] for e in body["timeline"] if e["entry"] == "taker-answered")

    def figures_with_the_arrival() -> dict[str, Any] | None:
        status, figures = stack.api("GET", "/api/v1/kpis")
        on_scene = figures["call_to_agency_arrived_seconds"]
        return figures if status == 200 and on_scene["by_type"]["fire"]["count"] == 1 else None

    figures = wait_for(figures_with_the_arrival, 10, "the archived call's arrival in the key figures")
    on_scene, connected = figures["call_to_agency_arrived_seconds"], figures["answer_to_agency_seconds"]
    assert on_scene["by_agency"]["damkar"]["p50"] == round(arrived_at - started, 1)
    assert connected["by_type"]["fire"]["p50"] == round(joined - answered, 1)
    assert connected["by_agency"]["damkar"]["count"] == 1
    assert figures["on_scene_within_7_min"] == 1.0  # within Kendari's 7 minutes
    history = stack.api("GET", "/api/v1/history")[1]["calls"]
    row = next(r for r in history if r["call_id"] == call_id)
    assert (row["incident_type"], row["kelurahan"], row["agency_arrived_at"]) == (
        "fire",
        "Mandonga",
        arrived_at,
    )

    wall = browser()
    open_dashboard(wall, stack, TOKENS["sup"])

    def shows(css: str, text: str, what: str) -> None:
        # The wallboard redraws its tiles as figures arrive: an element found just before a
        # redraw is gone when its text is read, which only means "look again".
        WebDriverWait(
            wall, 15, poll_frequency=0.2, ignored_exceptions=(StaleElementReferenceException,)
        ).until(lambda d: any(text in e.text for e in d.find_elements(By.CSS_SELECTOR, css)), message=what)

    tile = '#kpis [data-kpi="call_to_agency_arrived"] .kpi-value'
    shows(tile, m_ss(on_scene["p50"]), "the median time from the call to the scene, on a tile")
    shows('#kpis [data-kpi="on_scene_within_7_min"]', "100%", "the 7-minute target met")
    fire = '#response tr[data-row="type:fire"] [data-figure="{}"]'
    shows(fire.format("on-scene"), m_ss(on_scene["by_type"]["fire"]["p50"]), "fires: the call -> on scene")
    shows(fire.format("connected"), m_ss(connected["by_type"]["fire"]["p50"]), "fires: answer -> connected")
    shows(
        '#response tr[data-row="agency:damkar"] [data-figure="on-scene"]',
        m_ss(arrived_at - started),
        "Damkar",
    )
    screenshot(wall, "incident-3-wallboard-response")

    early = {"agency": "damkar", "arrived_at": started - 120}
    status, refused = stack.api("POST", f"/api/v1/calls/{call_id}/incident/arrivals", early)
    assert status == 400 and refused["code"] == "invalid_body"
    assert (
        refused["problems"][0].startswith("arrived_at:")
        and "before the call arrived" in refused["problems"][0]
    )
    no_policy_violation(desk)
    no_policy_violation(wall)
