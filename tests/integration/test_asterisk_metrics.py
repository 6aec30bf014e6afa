"""Metrics on the real stack: Asterisk's own page (res_prometheus, /metrics of its HTTP
server on loopback) answers Prometheus with the user and password rendered into the
state folder's secrets and refuses anyone without them; the control plane's /metrics,
scraped while it runs against that Asterisk, shows its AMI connection logged in, the
link to Asterisk up and its process's own figures."""

from __future__ import annotations

import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.stack import Process, Stack, wait_for

pytestmark = pytest.mark.integration

ASTERISK_METRICS = "http://127.0.0.1:8088/metrics"


def scrape(user: str | None = None, password: str = "") -> tuple[int, str]:
    request = urllib.request.Request(ASTERISK_METRICS)
    if user is not None:
        token = b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def samples(text: str) -> dict[str, float]:
    """Each sample by its name and labels as written: 'name' or 'name{label="value",...}'."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return found


def test_asterisks_metrics_answer_with_the_rendered_password_only(stack: Stack) -> None:
    secrets = Path(stack.env["IVR_STATE_DIR"]) / "secrets"
    password = (secrets / "asterisk_metrics_password").read_text().strip()
    status, text = scrape("prometheus", password)
    assert status == 200
    families = {f.name: [s.value for s in f.samples] for f in text_string_to_metric_families(text)}
    assert families.get("asterisk_core_uptime_seconds", [-1])[0] >= 0, sorted(families)
    assert families.get("asterisk_endpoints_count", [0])[0] >= 20, sorted(families)  # the centre's phones
    assert scrape()[0] == 401
    assert scrape("prometheus", password[:-1])[0] == 401
    assert scrape("ivr112", stack.ari_password)[0] == 401  # ARI's user is not Prometheus's


def test_the_control_planes_metrics_show_its_links_to_asterisk(
    stack: Stack, control_plane: Callable[..., Process]
) -> None:
    control_plane([])
    logged_in = 'ivr112_ami_logged_in{node=""}'  # one Asterisk: the connection has no node name

    def scraped() -> dict[str, float] | None:
        found = samples(stack.api_text("/metrics")[1])
        return found if found.get(logged_in) == 1 else None

    found = wait_for(scraped, 15, "the control plane's AMI connection logged in")
    assert found["ivr112_ari_connected"] == 1 and found["ivr112_active"] == 1
    assert found["ivr112_writes_held"] == 0
    assert 0 <= found["ivr112_event_loop_lag_seconds"] < 0.5  # an idle control plane runs on time
    assert found["process_resident_memory_bytes"] > 0
