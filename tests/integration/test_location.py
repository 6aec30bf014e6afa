"""The caller's location (AML) on the real stack: a SIPp call from 0812..., then the
operator's AML over HTTPS for that number (written +62812...): the fix is on the call's
record and on the call taker's desk (headless Chromium: the marker, its accuracy circle
and the accuracy text on the map) within a second, and in the archive once the call
ended. An AML SMS for a number with no call yet is kept and goes to the call arriving
within the window (the supervisor's waiting list flags that caller as located); one for
a number whose call comes after the window does not. Screenshots are saved under
test-artifacts/location/ (or $IVR_TEST_ARTIFACTS)."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.integration.stack import REPO, Process, Stack, place_call, users_file, wait_for
from tests.integration.test_dashboard import browser, no_policy_violation, open_dashboard, until  # noqa: F401

pytestmark = pytest.mark.integration

TOKENS = {"taker06": "taker06-desk-token-0001", "sup": "supervisor-wall-token-01"}
SENDERS = {"telkomsel": "Tsel-aml-9f3Kq2LxWp7v", "sms-gw": "Gw-sms-X4m8Rt2Nz6Qc"}
ARTIFACTS = Path(os.environ.get("IVR_TEST_ARTIFACTS", REPO / "test-artifacts")) / "location"


def files(folder: Path) -> dict[str, str]:
    """The users file and the AML senders file, as the control plane's settings."""
    users = users_file(folder, {"taker06": (TOKENS["taker06"], "call-taker", "taker06"),
                                "sup": (TOKENS["sup"], "supervisor", "")})  # fmt: skip
    senders = folder / "aml_senders"
    senders.write_text("".join(f"{name} {secret}\n" for name, secret in SENDERS.items()))
    senders.chmod(0o600)
    return {"IVR_USERS_FILE": str(users), "IVR_AML_SENDERS_FILE": str(senders)}


def deliver(stack: Stack, path: str, body: bytes, media: str, auth: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(f"http://127.0.0.1:{stack.api_port}{path}", data=body, method="POST")
    request.add_header("Authorization", auth)
    request.add_header("Content-Type", media)
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def aml_https(stack: Stack, number: str, lat: str, accuracy: str) -> tuple[int, dict[str, Any]]:
    """The operator's server posts the handset's AML (as Android's ELS does)."""
    now = int(time.time() * 1000)
    fields = {"v": "3", "emergency_number": "112", "source": "call", "time": str(now - 5000),
              "location_latitude": lat, "location_longitude": "122.51460", "location_accuracy": accuracy,
              "location_time": str(now - 1000), "location_source": "gps",
              "device_number": number, "cell_network_mcc": "510", "cell_network_mnc": "10"}  # fmt: skip
    credentials = base64.b64encode(f"telkomsel:{SENDERS['telkomsel']}".encode()).decode()
    body = urllib.parse.urlencode(fields).encode()
    return deliver(stack, "/api/v1/aml", body, "application/x-www-form-urlencoded", f"Basic {credentials}")


def aml_sms(stack: Stack, number: str, lat: str) -> tuple[int, dict[str, Any]]:
    """The SMS gateway hands on the AML SMS the handset sent, with its sender's number."""
    top = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    text = f'A"ML=1;lt={lat};lg=+122.51460;rd=40;top={top};lc=68;pm=W;si=510100000000000;ei=355458061005220'
    path = "/api/v1/aml/sms?" + urllib.parse.urlencode({"from": number})
    return deliver(stack, path, text.encode(), "text/plain", f"Bearer {SENDERS['sms-gw']}")


def screenshot(driver: WebDriver, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def test_the_handsets_location_reaches_the_record_and_the_takers_map_within_a_second(
    stack: Stack,
    control_plane: Callable[..., Process],
    phones: Callable[..., Process],
    browser: Callable[[], WebDriver],  # noqa: F811
    media: Path,
    tmp_path: Path,
) -> None:
    control_plane([], **files(tmp_path))
    phones("taker06", "phone_answers.xml", hold_ms=20000)
    stack.login("taker06")
    before = stack.call_ids()
    call = place_call(media, "112", hold_ms=12000, caller="081288800031", wait=False)
    call_id = stack.new_call_id(before)
    desk = browser()
    open_dashboard(desk, stack, TOKENS["taker06"])
    until(desk, f'#my-call[data-call="{call_id}"]', "the call on the desk", timeout=30)
    until(desk, f'#my-location[data-call="{call_id}"][data-located="false"]', "no location yet")

    sent = time.monotonic()
    assert aml_https(stack, "+6281288800031", "-3.97231", "35") == (
        200, {"accepted": True, "located": True, "matched": True, "ignored": []}
    )  # fmt: skip

    def on_the_desk() -> bool:
        script = """const el = document.querySelector('#my-location[data-located="true"]');
            return !!el && !!document.querySelector('#location-map path.location-marker')
              && !!document.querySelector('#location-map path.location-circle')
              && document.getElementById('location-accuracy').textContent.includes('35 m');"""
        return bool(desk.execute_script(script))

    wait_for(on_the_desk, 5, "the fix on the taker's map", interval=0.02)
    elapsed = time.monotonic() - sent
    assert elapsed < 1.0, f"the fix took {elapsed:.2f} s to reach the desk"
    assert desk.find_element(By.ID, "location-coords").text == "-3.97231, 122.51460"
    assert "openstreetmap.org" in desk.find_element(By.ID, "location-osm").get_attribute("href")
    assert desk.find_element(By.ID, "location-geo").get_attribute("href") == "geo:-3.97231,122.5146;u=35"
    assert not desk.find_element(By.ID, "location-no-tiles").get_attribute("hidden")  # no tile server here
    # and in the call's head, above the fold, linking to the map
    head = desk.find_element(By.CSS_SELECTOR, "#my-call .call-location a")
    assert head.text == "-3.97231, 122.51460 ± 35 m" and head.get_attribute("href").endswith("#my-location")
    screenshot(desk, "1-desk-with-the-callers-location")

    status, record = stack.api("GET", f"/api/v1/calls/{call_id}", token=TOKENS["taker06"])
    assert status == 200
    assert record["location"]["lat"] == -3.97231 and record["location"]["accuracy_m"] == 35.0
    assert (record["location"]["source"], record["location"]["method"]) == ("aml-https", "gnss")
    assert (record["location"]["sender"], len(record["locations"])) == ("telkomsel", 1)
    assert next(e for e in record["timeline"] if e["entry"] == "location")["lat"] == "-3.97231"

    # a newer fix moves the marker; the taker places the caller by hand too
    assert aml_sms(stack, "081288800031", "-03.97300")[1]["matched"] is True
    until(desk, "#location-fixes li:nth-child(2)", "the second fix listed", timeout=5)
    desk.find_element(By.ID, "location-lat").send_keys("-3.9740")
    desk.find_element(By.ID, "location-lon").send_keys("122.5150")
    desk.find_element(By.ID, "location-address-input").send_keys("Jl. Sao-Sao, depan masjid")
    desk.find_element(By.ID, "location-save").click()
    until(desk, "#location-fixes li:nth-child(3)", "the typed location listed", timeout=5)
    assert "Jl. Sao-Sao" in desk.find_element(By.ID, "location-address").text
    screenshot(desk, "2-desk-three-fixes")
    no_policy_violation(desk)

    assert call.popen.wait(timeout=60) == 0, call.output()
    archive = stack.workdir / "calls.sqlite3"

    def archived() -> tuple[int, float | None] | None:
        with sqlite3.connect(archive) as db:
            row = db.execute(
                "SELECT located, location_accuracy FROM calls WHERE call_id = ?", (call_id,)
            ).fetchone()
        return None if row is None else (int(row[0]), row[1])

    assert wait_for(archived, 15, "the call archived") == (1, None)  # the latest: typed, no accuracy
    with sqlite3.connect(archive) as db:
        kept = json.loads(db.execute("SELECT record FROM calls WHERE call_id = ?", (call_id,)).fetchone()[0])
    assert [f["source"] for f in kept["locations"]] == ["aml-https", "aml-sms", "desk"]


def test_a_fix_before_the_call_is_kept_for_it_and_one_outside_the_window_is_not(
    stack: Stack,
    control_plane: Callable[..., Process],
    browser: Callable[[], WebDriver],  # noqa: F811
    media: Path,
    tmp_path: Path,
) -> None:
    control_plane([], IVR_AML_WINDOW_SECONDS="8", **files(tmp_path))  # nobody logged in: callers wait
    stale = aml_sms(stack, "081288800033", "-03.99000")  # its call comes only after the window
    stale_at = time.monotonic()
    assert stale == (200, {"accepted": True, "located": True, "matched": False, "ignored": []})
    assert aml_sms(stack, "+62 812-8880-0032", "-03.98000")[1]["matched"] is False

    wall = browser()
    open_dashboard(wall, stack, TOKENS["sup"])
    before = stack.call_ids()
    first = place_call(media, "112", hold_ms=12000, caller="081288800032", wait=False)
    call_id = stack.new_call_id(before)
    row = until(wall, f'#waiting tr[data-call="{call_id}"]', "the caller waiting", timeout=30)
    until(wall, f'#waiting tr[data-call="{call_id}"] .has-location', "the located badge", timeout=5)
    assert "081288800032" in row.text
    screenshot(wall, "3-wallboard-caller-located")
    record = wait_for(
        lambda: stack.api("GET", f"/api/v1/calls/{call_id}")[1].get("location"), 5, "the kept fix"
    )
    assert (record["lat"], record["source"], record["accuracy_m"]) == (-3.98, "aml-sms", 40.0)
    no_policy_violation(wall)

    time.sleep(max(0.0, stale_at + 9.0 - time.monotonic()))  # past the 8 s window of the stale fix
    before = stack.call_ids()
    second = place_call(media, "112", hold_ms=4000, caller="081288800033", wait=False, port=5061)
    late = stack.new_call_id(before)
    time.sleep(1.5)
    status, record = stack.api("GET", f"/api/v1/calls/{late}")
    assert status == 200 and record["location"] is None and record["locations"] == []
    assert not wall.find_elements(By.CSS_SELECTOR, f'#waiting tr[data-call="{late}"] .has-location')
    first.stop()
    second.stop()
