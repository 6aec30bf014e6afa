# The control-plane image's Python dependencies: requirements.lock holds every runtime
# dependency pyproject.toml declares, at a version its specifier allows, each with hashes,
# and none of the test extras only; docker/control-plane/Dockerfile installs the lock in a
# layer of its own before it copies the code, then the package without dependencies, so a
# code change does not reinstall them.
# Rules: no docker, no network, nothing built or installed: files are parsed; each failure
# names the files and the values.
from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from tests.unit.docker_files import CONTROL_DOCKERFILE, REPO, Instruction, final_stage

LOCK_FILE = "requirements.lock"
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def locked() -> dict[NormalizedName, tuple[Version, int]]:
    """The lock's packages: name -> (version, number of hashes)."""
    found: dict[NormalizedName, tuple[Version, int]] = {}
    name: NormalizedName | None = None
    for line in (REPO / LOCK_FILE).read_text().splitlines():
        pinned = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line)
        if pinned:
            name = canonicalize_name(pinned[1])
            assert name not in found, f"{LOCK_FILE} lists {pinned[1]} twice"
            found[name] = (Version(pinned[2]), 0)
        elif line.strip() and not line.lstrip().startswith(("#", "--hash=")):
            raise AssertionError(f"{LOCK_FILE}: {line!r} is no exact `name==version` pin")
        for _ in re.findall(r"--hash=sha256:[0-9a-f]{64}", line):
            assert name is not None, f"{LOCK_FILE}: a hash before any package"
            found[name] = (found[name][0], found[name][1] + 1)
    return found


def runtime_requirements() -> list[Requirement]:
    wanted = [Requirement(text) for text in PROJECT["dependencies"]]
    return [r for r in wanted if r.marker is None or r.marker.evaluate({"extra": ""})]


def test_the_lock_is_read() -> None:
    # Guards the checks below: an empty or unreadable lock must not make them vacuous.
    assert len(runtime_requirements()) >= 5, "pyproject.toml"
    assert len(locked()) >= len(runtime_requirements()), LOCK_FILE


@pytest.mark.parametrize("requirement", runtime_requirements(), ids=str)
def test_every_runtime_dependency_is_locked_at_an_allowed_version(requirement: Requirement) -> None:
    lock = locked()
    name = canonicalize_name(requirement.name)
    assert name in lock, f"pyproject.toml depends on {requirement}; {LOCK_FILE} lacks {requirement.name}"
    version = lock[name][0]
    assert requirement.specifier.contains(version, prereleases=True), (
        f"{LOCK_FILE} pins {requirement.name}=={version}; pyproject.toml asks {requirement}: "
        "regenerate the lock"
    )


def test_every_locked_package_has_hashes() -> None:
    # The image installs with --require-hashes: pip would refuse a package without one.
    bare = sorted(name for name, (_, hashes) in locked().items() if hashes == 0)
    assert bare == [], f"{LOCK_FILE}: {bare} have no --hash"


def test_the_lock_has_no_test_only_package() -> None:
    runtime = {canonicalize_name(r.name) for r in runtime_requirements()}
    extras = PROJECT.get("optional-dependencies", {}).get("test", [])
    test_only = {canonicalize_name(Requirement(text).name) for text in extras} - runtime
    shipped = sorted(test_only & set(locked()))
    assert shipped == [], f"{LOCK_FILE} ships the test extras {shipped} in the image"


def position(steps: list[Instruction], wanted: re.Pattern[str], what: str) -> int:
    found = [n for n, step in enumerate(steps) if wanted.search(f"{step.keyword} {step.args}")]
    assert len(found) == 1, f"{CONTROL_DOCKERFILE}: expected one step that {what}, found {len(found)}"
    return found[0]


def test_dependencies_are_installed_before_the_code_is_copied() -> None:
    steps = final_stage(CONTROL_DOCKERFILE)
    lock = re.escape(LOCK_FILE)
    copy_lock = position(steps, re.compile(rf"^COPY .*\b{lock}\b"), f"copies {LOCK_FILE}")
    install_lock = position(
        steps, re.compile(rf"^RUN .*pip install (?=.*--require-hashes)(?=.*-r {lock}\b)"),
        f"installs {LOCK_FILE} with --require-hashes",
    )  # fmt: skip
    copy_code = position(steps, re.compile(r"^COPY (\S+ )*ivr\b"), "copies ivr/")
    install_code = position(
        steps, re.compile(r"^RUN .*pip install --no-deps \.(\s|$)"), "installs the package"
    )
    assert copy_lock < install_lock < copy_code < install_code, (
        f"{CONTROL_DOCKERFILE}: COPY {LOCK_FILE} (step {copy_lock}), its install ({install_lock}), "
        f"COPY ivr ({copy_code}), pip install --no-deps . ({install_code}) are not in that order: "
        "a code change would reinstall the dependencies"
    )
    for step in steps[:install_lock]:
        assert not (step.keyword == "COPY" and re.search(r"\b(ivr|pyproject\.toml)\b", step.args)), (
            f"{CONTROL_DOCKERFILE} copies {step.args} before installing the dependencies"
        )
    # Any other pip install takes no dependencies (silero-vad: its model file only).
    unlocked = [
        command.strip()
        for step in steps
        if step.keyword == "RUN"
        for command in re.split(r"&&|;|\|\|", step.args)
        if "pip install" in command and "--no-deps" not in command and f"-r {LOCK_FILE}" not in command
    ]
    assert unlocked == [], f"{CONTROL_DOCKERFILE} installs dependencies outside {LOCK_FILE}: {unlocked}"
