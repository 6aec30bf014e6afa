# The production images (docker/): the Asterisk image installs exactly the package list
# scripts/asterisk-root.sh uses, from Debian sid; the images come from the bases the
# project uses; the render finds its sources and prompts land where asterisk-prepare.sh
# puts them; the files each image copies exist and are not excluded from its build context.
# Rules: no docker, no network, nothing built: files are parsed; every assertion compares
# two files of the repository, and its message names the files and the values.
from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.unit.docker_files import (
    ASTERISK_DOCKERFILE,
    COMPOSE_FILE,
    CONTROL_DOCKERFILE,
    DOCKER,
    PACKAGE_LIST,
    RENDER,
    RENDER_FILE,
    REPO,
    ROOT_SCRIPT,
    base_images,
    build_dockerfile,
    copies,
    copy_dest,
    final_stage,
    settings_default,
)

# ---- images --------------------------------------------------------------------------------------


def shell_words(command: str) -> list[str]:
    done = subprocess.run(
        ["bash", "-c", f'set -euo pipefail; printf "%s\\n" {command}'],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, f"{command!r} failed: {done.stderr}"
    return done.stdout.split()


def command_substitution(text: str, containing: str) -> tuple[int, int]:
    """The span of the $( ... ) of `text` that mentions `containing`."""
    start = text.rfind("$(", 0, text.index(containing))
    assert start >= 0, f"no $( ... ) around {containing} in {text!r}"
    depth, end = 0, start + 1
    while True:
        depth += {"(": 1, ")": -1}.get(text[end], 0)
        if depth == 0:
            return start, end + 1
        end += 1


def root_script_packages() -> list[str]:
    lines = (REPO / ROOT_SCRIPT).read_text().splitlines()
    assignment = [line for line in lines if line.startswith("PACKAGES=")]
    assert len(assignment) == 1, f"{ROOT_SCRIPT}: expected one PACKAGES= line, found {assignment}"
    done = subprocess.run(
        [
            "bash",
            "-c",
            f'set -euo pipefail; REPO_DIR={shlex.quote(str(REPO))}; {assignment[0]}; echo "$PACKAGES"',
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, f"{ROOT_SCRIPT}'s {assignment[0]!r} failed: {done.stderr}"
    return done.stdout.strip().split(",")


def test_asterisk_image_installs_exactly_the_root_scripts_packages() -> None:
    root = root_script_packages()
    assert PACKAGE_LIST in (REPO / ROOT_SCRIPT).read_text(), f"{ROOT_SCRIPT} no longer reads {PACKAGE_LIST}"
    in_image = str(copy_dest(ASTERISK_DOCKERFILE, PACKAGE_LIST))
    runs = [i.args for i in final_stage(ASTERISK_DOCKERFILE) if i.keyword == "RUN"]
    reading = [run for run in runs if in_image in run and "apt-get install" in run]
    assert len(reading) == 1, (
        f"{ASTERISK_DOCKERFILE}: no single RUN installs from {in_image} ({PACKAGE_LIST})"
    )
    start, end = command_substitution(reading[0], in_image)
    listed = shell_words(reading[0][start:end].replace(in_image, shlex.quote(str(REPO / PACKAGE_LIST))))
    assert listed == root, f"{ASTERISK_DOCKERFILE} installs {listed}, {ROOT_SCRIPT} installs {root}"
    assert "--no-install-recommends" in reading[0], (
        f"{ASTERISK_DOCKERFILE} installs recommends; {ROOT_SCRIPT} not"
    )
    # Nothing else in that install, and no Asterisk package named anywhere else.
    install = (
        (reading[0][:start] + " @LIST@ " + reading[0][end:]).split("apt-get install", 1)[1].split("&&")[0]
    )
    extra = [w for w in shlex.split(install) if not w.startswith("-") and w != "@LIST@"]
    assert extra == [], f"{ASTERISK_DOCKERFILE} installs {extra} beside {PACKAGE_LIST}"
    for run in runs:
        if run is reading[0] or "apt-get install" not in run:
            continue
        named = [
            w for w in re.findall(r"[\w.+-]+", run.split("apt-get install", 1)[1]) if w.startswith("asterisk")
        ]
        assert named == [], f"{ASTERISK_DOCKERFILE} installs {named} outside {PACKAGE_LIST}"


def test_images_come_from_the_bases_the_project_uses() -> None:
    bases = base_images(ASTERISK_DOCKERFILE)
    # The root is built by lib.sh's sid_root, whose mmdebstrap call names the suite.
    assert re.search(r"^sid_root \"\$tmp\" ", (REPO / ROOT_SCRIPT).read_text(), re.M), (
        f"{ROOT_SCRIPT} no longer builds its root with sid_root (scripts/lib.sh)"
    )
    suite = re.search(r"^\s+(\w+) \"\$dir\" \"\$DEBIAN_MIRROR\"", (REPO / "scripts/lib.sh").read_text(), re.M)
    assert suite, "scripts/lib.sh: the mmdebstrap suite of sid_root was not found"
    # The suite, pinned by a date (debian:sid-20260918) or a digest.
    assert re.fullmatch(rf"debian:{suite[1]}(-\d{{8}})?(@sha256:[0-9a-f]{{64}})?", bases[-1]), (
        f"{ASTERISK_DOCKERFILE} runs on {bases[-1]}, {ROOT_SCRIPT} on {suite[1]}"
    )
    for path in (ROOT_SCRIPT, ASTERISK_DOCKERFILE):
        assert '"Asterisk 22."*)' in (REPO / path).read_text(), (
            f"{path} no longer refuses an Asterisk other than 22, as both {ROOT_SCRIPT} and "
            f"{ASTERISK_DOCKERFILE} must"
        )
    base = base_images(CONTROL_DOCKERFILE)[-1]
    version = re.fullmatch(r"python:(\d+)\.(\d+)\S*", base)
    needs = re.search(r'requires-python = ">=(\d+)\.(\d+)"', (REPO / "pyproject.toml").read_text())
    assert version and needs, (base, "pyproject.toml")
    assert (int(version[1]), int(version[2])) >= (int(needs[1]), int(needs[2])), (
        f"{CONTROL_DOCKERFILE} uses {base}; pyproject.toml requires Python >={needs[1]}.{needs[2]}"
    )


def test_render_finds_its_sources_and_prompts_land_where_asterisk_prepare_puts_them() -> None:
    script = copy_dest(ASTERISK_DOCKERFILE, RENDER_FILE)
    app = script.parent.parent  # render_conf.py: REPO = the parent of its scripts/ folder
    for folder in RENDER.SOURCES:
        name = Path(folder).relative_to(RENDER.REPO).as_posix()
        assert copy_dest(ASTERISK_DOCKERFILE, name) == app / name, (
            f"{ASTERISK_DOCKERFILE} copies {name} to {copy_dest(ASTERISK_DOCKERFILE, name)}; "
            f"{RENDER_FILE} at {script} reads {app / name}"
        )
    entry = (DOCKER / "asterisk" / "entrypoint.sh").read_text()
    assert f"app={app}\n" in entry and '"$app/scripts/render_conf.py"' in entry, (
        f"docker/asterisk/entrypoint.sh does not run the render at {script} ({ASTERISK_DOCKERFILE})"
    )
    start = (REPO / "scripts" / "asterisk-prepare.sh").read_text()
    sounds = re.search(r'sounds="\$ASTERISK_ROOT(/\S+)"', start)
    folder = re.fullmatch(r"sound:(\w+)/\S+", str(settings_default("greeting_media")))
    assert sounds and folder, "scripts/asterisk-prepare.sh or ivr/settings.py greeting_media changed shape"
    from_stage = [c.dest for c in copies(ASTERISK_DOCKERFILE, final_only=True) if c.from_stage == "prompts"]
    assert from_stage == [f"{sounds[1]}/{folder[1]}"], (
        f"{ASTERISK_DOCKERFILE} puts the prompts in {from_stage}; scripts/asterisk-prepare.sh and "
        f"ivr/settings.py play them from {sounds[1]}/{folder[1]}"
    )


@pytest.mark.parametrize("name", ["asterisk", "control-plane"])
def test_copied_files_exist_and_are_in_the_build_context(name: str) -> None:
    path = build_dockerfile(name)
    assert path is not None and (REPO / path).is_file(), f"{COMPOSE_FILE}: {name} builds from {path}, missing"
    ignore = REPO / f"{path}.dockerignore"
    lines = [line.strip() for line in ignore.read_text().splitlines() if line.strip()[:1] not in ("", "#")]
    assert lines[:1] == ["*"], f"{ignore.relative_to(REPO)} must start from '*' (only what is copied is sent)"
    allowed = [line[1:] for line in lines if line.startswith("!")]
    for copied in copies(path):
        if copied.from_stage is not None:
            continue
        for source in copied.sources:
            assert (REPO / source).exists(), f"{path} copies {source}, which is not in the repository"
            assert any(source == a or source.startswith(a.rstrip("/") + "/") for a in allowed), (
                f"{path} copies {source}, which {ignore.relative_to(REPO)} leaves out of the build context"
            )
