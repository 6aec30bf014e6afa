"""Helpers for the tests of the monitoring files (docs/grafana, docs/prometheus): the
series /metrics exports (scraped from the app of tests/unit/http_app.py), the metric
names a PromQL expression reads, and promtool (Debian package prometheus, installed by
scripts/host-deps.sh)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.unit.http_app import api

REPO = Path(__file__).resolve().parents[2]
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}
# PromQL words that are not metric names (functions are told apart by their parenthesis).
KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
NAME = re.compile(r"(?<![\w.:$])[A-Za-z_:][A-Za-z0-9_:]*")


async def exported_names() -> set[str]:
    """Every series name /metrics declares (families' names and their samples' names)."""
    async with api(ami=lambda: {"": True}) as app:
        response = await app.client.get("/metrics", headers=app.auth("supervisor"))
        assert response.status == 200
        text = await response.text()
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (not its functions, labels or keywords)."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values
    bare = re.sub(r"\{[^}]*\}", "", bare)  # label matchers
    bare = re.sub(r"\[[^\]]*\]", "", bare)  # ranges
    bare = GROUPING.sub("", bare)
    found = set()
    for match in NAME.finditer(bare):
        if bare[match.end() :].lstrip().startswith("("):
            continue  # a function or an aggregation
        if match.group().lower() not in KEYWORDS:
            found.add(match.group())
    return found


def promtool(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: install the Debian package prometheus (scripts/host-deps.sh does)"
    return subprocess.run([tool, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
