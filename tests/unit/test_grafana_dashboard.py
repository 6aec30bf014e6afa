# The supervisors' Grafana wallboard (docs/grafana/kendari112.json): a dashboard model that
# loads, whose panels each query Prometheus, whose expressions are valid PromQL (checked by
# promtool as recording rules) and read only series the control plane's /metrics exports,
# and that shows what supervisors watch: waiting callers, answer times against the
# targets, screening verdicts, call takers by state and hand-overs to the fallback queue.
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.unit.monitoring import REPO, exported_names, metric_names, promtool

DASHBOARD = REPO / "docs" / "grafana" / "kendari112.json"


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def targets() -> list[tuple[str, str]]:
    """(panel title, expression) of every query."""
    return [
        (panel["title"], target["expr"]) for panel in dashboard()["panels"] for target in panel["targets"]
    ]


def test_the_dashboard_loads_with_panels_that_each_query_prometheus() -> None:
    model = dashboard()
    assert model["uid"] and model["title"] and model["schemaVersion"] >= 36
    panels = model["panels"]
    assert len(panels) >= 8
    assert len({p["id"] for p in panels}) == len(panels)
    assert all(p["targets"] and p["datasource"]["type"] == "prometheus" for p in panels)
    assert all(t.get("expr") and t.get("refId") for p in panels for t in p["targets"])
    variables = {v["name"]: v for v in model["templating"]["list"]}
    assert (
        variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    )


def test_every_expression_is_valid_promql(tmp_path: Path) -> None:
    rules = [{"record": f"dashboard:query_{n}", "expr": expr} for n, (_, expr) in enumerate(targets())]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = promtool("check", "rules", str(path))
    assert done.returncode == 0, done.stdout + done.stderr


async def test_every_expression_reads_only_series_metrics_exports() -> None:
    exported = await exported_names()
    unknown = {title: metric_names(expr) - exported for title, expr in targets()}
    assert {title: names for title, names in unknown.items() if names} == {}


def test_the_wallboard_shows_what_supervisors_watch() -> None:
    read = {name for _, expr in targets() for name in metric_names(expr)}
    watched = {
        "ivr112_waiting_callers",  # waiting callers
        "ivr112_service_level",  # answer times against the targets
        "ivr112_service_level_target",
        "ivr112_answer_seconds_bucket",
        "ivr112_screening_verdicts_total",  # verdict mix
        "ivr112_takers",  # call takers by state
        "ivr112_calls_total",  # among them, hand-overs to the fallback queue
    }
    assert watched <= read
    assert any('outcome="handed-to-fallback"' in expr for _, expr in targets())
