# The Prometheus alert rules shipped for supervisors (docs/prometheus/kendari112-rules.yml):
# promtool accepts them, their own unit tests pass (kendari112-rules.test.yml: each alert
# fires in one case and stays quiet in another), every alert has a `for:` duration, a
# severity and a summary, and reads only series the control plane's /metrics exports
# (or Prometheus's own `up`).
from __future__ import annotations

from typing import Any

import yaml

from tests.unit.monitoring import REPO, exported_names, metric_names, promtool

FOLDER = REPO / "docs" / "prometheus"
RULES = FOLDER / "kendari112-rules.yml"
RULE_TESTS = FOLDER / "kendari112-rules.test.yml"
PROMETHEUS_OWN = {"up"}  # made by Prometheus for each scrape target


def alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_promtool_accepts_the_rules() -> None:
    done = promtool("check", "rules", str(RULES.relative_to(REPO)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in done.stdout


def test_the_rules_pass_their_unit_tests() -> None:
    done = promtool("test", "rules", RULE_TESTS.name, cwd=FOLDER)
    assert done.returncode == 0, done.stdout + done.stderr


def test_each_alert_is_tested_firing_and_quiet() -> None:
    cases = [
        case for test in yaml.safe_load(RULE_TESTS.read_text())["tests"] for case in test["alert_rule_test"]
    ]
    untested = [
        (rule["alert"], need)
        for rule in alerts()
        for need, fires in (("firing", True), ("quiet", False))
        if not any(c["alertname"] == rule["alert"] and bool(c.get("exp_alerts")) is fires for c in cases)
    ]
    assert untested == []


def test_each_alert_waits_has_a_severity_and_a_summary() -> None:
    found = alerts()
    assert len(found) >= 6
    lacking = [
        rule["alert"]
        for rule in found
        if not rule.get("for")
        or rule.get("labels", {}).get("severity") not in ("critical", "warning")
        or not rule.get("annotations", {}).get("summary")
    ]
    assert lacking == []


async def test_the_alerts_read_only_series_the_control_plane_exports() -> None:
    exported = await exported_names() | PROMETHEUS_OWN
    unknown = {rule["alert"]: metric_names(str(rule["expr"])) - exported for rule in alerts()}
    assert {alert: names for alert, names in unknown.items() if names} == {}


def test_the_name_finder_sees_metrics_and_nothing_else() -> None:
    expr = (
        'sum by (job, le) (rate(a_seconds_bucket{x="y z", w!~"or|and"}[5m])) > 0.5 '
        "and on (instance) b_total == bool 1e3 unless c offset 5m"
    )
    assert metric_names(expr) == {"a_seconds_bucket", "b_total", "c"}
