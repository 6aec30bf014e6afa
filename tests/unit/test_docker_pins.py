# What the production containers run is fixed: every Dockerfile starts from a build
# argument whose default is pinned (a digest, or a tag dated YYYYMMDD), never `:latest`, a
# bare name or a moving tag; an image compose pulls is pinned alike; the images built here
# are tagged with pyproject.toml's version; every long-running service's log is rotated.
# Rules: no docker, no network: files are parsed; each failure names the file and the value.
from __future__ import annotations

import re
import tomllib

import pytest

from tests.unit.docker_files import (
    ASTERISK_DOCKERFILE,
    COMPOSE,
    COMPOSE_FILE,
    CONTROL_DOCKERFILE,
    REPO,
    base_images,
    dockerfile,
    long_running,
    service,
)

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
DATED_TAG = re.compile(r":[\w.-]*(?<![0-9])(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?![0-9])[\w.-]*$")
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def pinned(image: str) -> bool:
    """A digest, or a tag that carries a date (debian:sid-20260918, debian:trixie-20251117-slim)."""
    return bool(DIGEST.search(image) or DATED_TAG.search(image))


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("debian:sid-20260918", True),
        ("debian:trixie-20251117-slim", True),
        (f"python:3.11-slim-trixie@sha256:{'0' * 64}", True),
        ("debian:sid", False),
        ("debian:bookworm-slim", False),
        ("python:3.11-slim-trixie", False),
        ("redis:7.4-bookworm", False),
        ("redis", False),
        ("debian:latest", False),
        ("python:3.11.15", False),
    ],
)
def test_pin_rule(image: str, expected: bool) -> None:
    assert pinned(image) is expected, image


@pytest.mark.parametrize("relative", [ASTERISK_DOCKERFILE, CONTROL_DOCKERFILE])
def test_every_base_is_pinned_by_an_overridable_argument(relative: str) -> None:
    stages = set()
    for step in dockerfile(relative):
        if step.keyword != "FROM":
            continue
        words = step.args.split()
        if words[0] not in stages:
            assert re.fullmatch(r"\$\{?\w+\}?", words[0]), (
                f"{relative}: FROM {words[0]} is written out; make it a build argument "
                "(ARG BASE=<pinned image> before the first FROM, FROM ${BASE}) so a build can override it"
            )
        if len(words) == 3 and words[1].upper() == "AS":
            stages.add(words[2])
    for image in base_images(relative):
        assert image in stages or pinned(image), (
            f"{relative} starts from {image}: a moving tag; pin it by digest (@sha256:...) or a dated tag"
        )


def test_pulled_images_are_pinned() -> None:
    pulled = {name: spec["image"] for name, spec in COMPOSE["services"].items() if "build" not in spec}
    assert pulled, f"{COMPOSE_FILE} pulls no image (the redis service?)"
    loose = {name: image for name, image in pulled.items() if not pinned(image)}
    assert loose == {}, f"{COMPOSE_FILE} pulls moving tags {loose}: pin them by digest or a dated tag"


def test_built_images_are_tagged_with_the_project_version() -> None:
    built = {
        name: service(name).get("image", "") for name, spec in COMPOSE["services"].items() if "build" in spec
    }
    assert {"control-plane", "asterisk"} <= set(built), f"{COMPOSE_FILE} builds {sorted(built)}"
    wrong = {name: image for name, image in built.items() if image.rpartition(":")[2] != VERSION}
    assert wrong == {}, (
        f"{COMPOSE_FILE} tags the images it builds {wrong}; pyproject.toml's version is {VERSION}"
    )


@pytest.mark.parametrize("name", long_running())
def test_every_long_running_service_rotates_its_log(name: str) -> None:
    logging = service(name).get("logging") or {}
    options = logging.get("options") or {}
    assert logging.get("driver") == "json-file" and options.get("max-size") and options.get("max-file"), (
        f"{COMPOSE_FILE}: {name} logs {logging or 'with the daemon default'}; wanted json-file with "
        "max-size and max-file, or its log grows until the disk is full"
    )
