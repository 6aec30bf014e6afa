# The production containers' watchdog (docker/compose.yaml service `watchdog`): the
# control-plane image running `python -m ivr watchdog`, restarted by Docker, never waiting
# for the control plane (it exists for when that one is dead) nor waited for by it; it
# reaches Asterisk's AMI with the user render_conf.py writes, asks the control plane's
# health route where the control plane listens, and writes its status where the control
# plane reads it; its health check is its own, not the control plane's.
# Rules: no docker, no network, nothing built: files are parsed; every assertion compares
# two files of the repository, and its message names the files and the values.
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import PurePosixPath

from ivr.settings import WatchdogSettings
from tests.unit.docker_files import (
    COMPOSE,
    COMPOSE_FILE,
    CONTROL_DOCKERFILE,
    HEALTHCHECK,
    RENDER_FILE,
    REPO,
    argument_lists,
    build_dockerfile,
    compose_default,
    compose_env,
    effective_env,
    final_stage,
    mount_at,
    service,
    settings_default,
    unset_value,
)

NAME = "watchdog"


def test_watchdog_runs_the_control_plane_images_watchdog_command() -> None:
    assert build_dockerfile(NAME) == build_dockerfile("control-plane") == CONTROL_DOCKERFILE
    assert service(NAME).get("image") == service("control-plane").get("image")
    entry = [i.args for i in final_stage(CONTROL_DOCKERFILE) if i.keyword == "ENTRYPOINT"]
    assert entry == ['["python", "-m", "ivr"]'], f"{CONTROL_DOCKERFILE} ENTRYPOINT {entry}"
    command = service(NAME).get("command")
    assert command == ["watchdog"], f"{COMPOSE_FILE}: the watchdog runs {command}"
    done = subprocess.run([sys.executable, "-m", "ivr", *command, "--help"], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, f"`python -m ivr {' '.join(command)}` is no command of ivr/__main__.py"


def test_watchdog_is_restarted_and_independent_of_the_control_plane() -> None:
    spec = service(NAME)
    assert spec.get("restart") == "unless-stopped", f"{COMPOSE_FILE}: watchdog restart {spec.get('restart')}"
    assert spec.get("network_mode") == "host"
    depends = spec.get("depends_on") or {}
    assert "control-plane" not in depends, f"{COMPOSE_FILE}: the watchdog waits for the control plane"
    assert all(c.get("condition") != "service_healthy" for c in depends.values() if isinstance(c, dict)), (
        f"{COMPOSE_FILE}: the watchdog waits for a healthy {sorted(depends)}; it must start even then"
    )
    assert NAME not in (service("control-plane").get("depends_on") or {}), (
        f"{COMPOSE_FILE}: the control plane waits for the watchdog"
    )


def test_watchdogs_health_check_is_its_own() -> None:
    check = service(NAME).get("healthcheck") or {}
    test = argument_lists(NAME).get("healthcheck test", [])
    assert not check.get("disable") and test, f"{COMPOSE_FILE}: the watchdog has no health check of its own"
    words = " ".join(test)
    assert HEALTHCHECK.HEALTH_PATH not in words and "healthcheck.py" not in words, (
        f"{COMPOSE_FILE}: the watchdog's health check {test} asks the control plane, "
        "which is down exactly when the watchdog matters"
    )
    assert words.endswith("-m ivr watchdog status"), test


def test_watchdog_reaches_asterisks_ami_with_the_rendered_user() -> None:
    assert compose_default(NAME, "IVR_AMI_HOST") == "127.0.0.1", "AMI users may connect from loopback only"
    assert compose_default(NAME, "IVR_AMI_PORT") == compose_default("asterisk", "AMI_PORT")
    user = compose_default(NAME, "IVR_WATCHDOG_AMI_USER")
    rendered = re.search(
        r'os\.environ\.get\("IVR_WATCHDOG_AMI_USER", "([^"]+)"\)', (REPO / RENDER_FILE).read_text()
    )
    assert rendered, f"{RENDER_FILE} no longer writes the watchdog's AMI user"
    assert user == rendered[1] == WatchdogSettings.model_fields["watchdog_ami_user"].default, (
        f"{COMPOSE_FILE} {user}, {RENDER_FILE} {rendered[1]}, ivr/settings.py "
        f"{WatchdogSettings.model_fields['watchdog_ami_user'].default}"
    )
    assert compose_default(NAME, "IVR_ARI_APP") == compose_default("control-plane", "IVR_ARI_APP")


def test_watchdog_asks_the_health_route_where_the_control_plane_listens() -> None:
    written = compose_env(NAME).get("IVR_WATCHDOG_HEALTH_URL")
    assert written, f"{COMPOSE_FILE}: the watchdog has no IVR_WATCHDOG_HEALTH_URL"
    control = compose_env("control-plane")
    # The same variables, with the same defaults, as the control plane's bind and port.
    for variable in ("IVR_HTTP_BIND", "IVR_HTTP_PORT"):
        given = re.search(rf"\$\{{{variable}(:-[^}}]*)?\}}", written)
        assert given and given[0] == control.get(variable), (
            f"{COMPOSE_FILE}: the watchdog's health URL {written} does not follow the control plane's "
            f"{variable} ({control.get(variable)})"
        )
    url = unset_value(written)
    assert url == HEALTHCHECK.health_url(effective_env("control-plane", CONTROL_DOCKERFILE)), url
    assert url.endswith(HEALTHCHECK.HEALTH_PATH) and str(settings_default("http_port")) in url


def test_watchdogs_status_is_where_the_control_plane_reads_it() -> None:
    paths = {name: compose_default(name, "IVR_WATCHDOG_STATUS") for name in (NAME, "control-plane")}
    assert paths[NAME] == paths["control-plane"], f"{COMPOSE_FILE}: IVR_WATCHDOG_STATUS {paths}"
    folder = str(PurePosixPath(paths[NAME]).parent)
    written, read = mount_at(NAME, folder), mount_at("control-plane", folder)
    assert written.is_volume and not written.read_only, f"{COMPOSE_FILE}: the watchdog cannot keep {folder}"
    assert written.source == read.source, (
        f"{COMPOSE_FILE}: the watchdog writes its status into '{written.source}', "
        f"the control plane reads '{read.source}'"
    )


def test_readme_names_every_service() -> None:
    readme = (REPO / "docker" / "README.md").read_text()
    table = re.search(r"^\| service \| image \| what \|\n\|[-|]+\|\n((?:\|.*\n)+)", readme, re.M)
    assert table, "docker/README.md has no table of services (| service | image | what |)"
    listed = set(re.findall(r"^\| `([\w-]+)` \|", table[1], re.M))
    assert listed == set(COMPOSE["services"]), (
        f"docker/README.md lists {sorted(listed)}, {COMPOSE_FILE} has {sorted(COMPOSE['services'])}"
    )
