# The production containers (docker/), the centre's endpoints: the generated endpoints
# (ivr/config/asterisk_centre.py) are written by a one-shot before Asterisk starts into a
# volume Asterisk reads read-only at the folder pjsip.conf and queues.conf #include, which
# the control plane rewrites on a reload, with the SIP passwords in the control plane's
# state volume and a group gid both images share; the entrypoint's render leaves that
# folder alone; health checks and start order exist.
# Rules: no docker, no network, nothing built: files are parsed (the entrypoint and
# `config apply`'s writer are run on temporary folders); every assertion compares two
# files of the repository, and its message names the files and the values.
from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

import ivr.__main__ as ivr_cli
from ivr.adapters.centre_endpoints import write_files
from ivr.adapters.http.auth import OPEN
from ivr.adapters.http.versions import KEPT
from ivr.config import asterisk_centre
from ivr.config.loader import load as load_config
from ivr.tools.config_apply import ApplySettings
from tests.unit.docker_files import (
    ASTERISK_DOCKERFILE,
    COMPOSE,
    COMPOSE_FILE,
    CONTROL_DOCKERFILE,
    ENTRYPOINT,
    HEALTHCHECK,
    RENDER,
    RENDER_FILE,
    REPO,
    build_dockerfile,
    compose_env,
    copies,
    copy_dest,
    effective_env,
    final_stage,
    healthcheck_command,
    image_env,
    long_running,
    mount_at,
    mounts,
    one_shots,
    service,
    settings_default,
)

# ---- the centre's endpoints (ivr/config/asterisk_centre.py) ------------------------------------

CENTRE_FOLDER = asterisk_centre.FOLDER


def asterisk_etc() -> PurePosixPath:
    """Asterisk's etc folder: where the entrypoint renders (asterisk.conf keeps the default)."""
    found = re.search(r"^etc=(/\S+)$", (REPO / ENTRYPOINT).read_text(), re.M)
    assert found, f"{ENTRYPOINT} no longer names Asterisk's etc folder (etc=...)"
    overridden = re.search(r"^\s*astetcdir\s*=", (REPO / "asterisk-conf" / "asterisk.conf").read_text(), re.M)
    assert not overridden, f"asterisk-conf/asterisk.conf sets astetcdir; {ENTRYPOINT} renders into {found[1]}"
    return PurePosixPath(found[1])


def centre_writers() -> list[str]:
    """The services that write the centre's endpoints (IVR_ASTERISK_ETC set)."""
    return [name for name in COMPOSE["services"] if compose_env(name).get("IVR_ASTERISK_ETC")]


def apply_settings(name: str, monkeypatch: pytest.MonkeyPatch) -> ApplySettings:
    """What `python -m ivr config apply` (and a reload) reads in service `name`, by
    ivr/adapters/centre_endpoints.py's own rules."""
    for variable in list(os.environ):
        if variable.startswith("IVR_"):
            monkeypatch.delenv(variable)
    for variable, value in effective_env(name, CONTROL_DOCKERFILE).items():
        if variable.startswith("IVR_") and value not in ("", "<required>"):
            monkeypatch.setenv(variable, value)
    return ApplySettings()


def test_asterisk_includes_the_generated_files_from_the_centre_folder() -> None:
    for conf, generated in (
        ("pjsip.conf", asterisk_centre.PJSIP_FILE),
        ("queues.conf", asterisk_centre.QUEUES_FILE),
    ):
        line = f'#include "{CENTRE_FOLDER}/{generated}"'
        assert line in (REPO / "asterisk-conf" / conf).read_text().splitlines(), (
            f"asterisk-conf/{conf} lacks {line!r}: ivr/config/asterisk_centre.py writes "
            f"{generated} into the folder {CENTRE_FOLDER!r}"
        )
    entry = re.search(r"^centre=(\S+)", (REPO / ENTRYPOINT).read_text(), re.M)
    assert entry and entry[1] == CENTRE_FOLDER, (
        f"{ENTRYPOINT} leaves {entry and entry[1]!r} alone; "
        f"ivr/config/asterisk_centre.py writes {CENTRE_FOLDER!r}"
    )


def test_centre_volume_is_shared_by_the_writers_and_read_only_for_asterisk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = asterisk_etc() / CENTRE_FOLDER
    read = mount_at("asterisk", str(folder))
    assert read.is_volume, f"{COMPOSE_FILE}: asterisk's {folder} is not a named volume"
    assert read.read_only, f"{COMPOSE_FILE}: asterisk may write {folder}; only the control plane writes it"
    writers = centre_writers()
    assert sorted(writers) == sorted({"control-plane", *one_shots()}), (
        f"{COMPOSE_FILE}: IVR_ASTERISK_ETC is set in {writers}; wanted the one-shot(s) {sorted(one_shots())} "
        "(before Asterisk) and control-plane (config reloads)"
    )
    for name in writers:
        etc = apply_settings(name, monkeypatch).asterisk_etc
        assert PurePosixPath(etc) == asterisk_etc(), (
            f"{COMPOSE_FILE}: {name}'s IVR_ASTERISK_ETC is {etc}; "
            f"Asterisk reads {asterisk_etc()} ({ENTRYPOINT})"
        )
        written = mount_at(name, str(PurePosixPath(etc) / CENTRE_FOLDER))
        assert written.source == read.source and not written.read_only, (
            f"{COMPOSE_FILE}: {name} writes {etc}/{CENTRE_FOLDER} into '{written.source}' "
            f"(read-only: {written.read_only}); Asterisk reads '{read.source}'"
        )
    others = [n for n in COMPOSE["services"] if n not in {"asterisk", *writers}]
    shared = [n for n in others if any(m.source == read.source for m in mounts(n))]
    assert shared == [], f"{COMPOSE_FILE}: {shared} mount the SIP passwords' volume '{read.source}' too"


def test_asterisk_waits_for_the_one_shot_that_writes_the_centre_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    depends = service("asterisk").get("depends_on") or {}
    assert isinstance(depends, dict), f"{COMPOSE_FILE}: asterisk depends_on has no conditions"
    waited = {n for n, c in depends.items() if (c or {}).get("condition") == "service_completed_successfully"}
    writers_first = waited & set(centre_writers())
    assert writers_first, (
        f"{COMPOSE_FILE}: asterisk waits for {depends}, not for a writer of the centre files "
        f"({centre_writers()}) to have exited 0"
    )
    entrypoint = [i.args for i in final_stage(CONTROL_DOCKERFILE) if i.keyword == "ENTRYPOINT"]
    assert entrypoint, f"{CONTROL_DOCKERFILE} has no ENTRYPOINT"
    called: list[tuple[Any, ...]] = []
    monkeypatch.setattr(ivr_cli, "_apply_config", lambda *args: called.append(args) or 0)
    for name in writers_first:
        assert build_dockerfile(name) == CONTROL_DOCKERFILE, (
            f"{COMPOSE_FILE}: {name} is not built from {CONTROL_DOCKERFILE}"
        )
        assert service(name).get("image") == service("control-plane").get("image"), (
            f"{COMPOSE_FILE}: {name} and control-plane run different images"
        )
        command = [str(word) for word in service(name).get("command", [])]
        argv = yaml.safe_load(entrypoint[-1]) + command
        assert argv[:3] == ["python", "-m", "ivr"], f"{name} runs {argv}, not python -m ivr"
        called.clear()
        assert ivr_cli.main(argv[3:]) == 0 and len(called) == 1, (
            f"{COMPOSE_FILE}: {name} runs {argv}, which is not `python -m ivr config apply` (ivr/__main__.py)"
        )
        assert called[0][2] is True, (
            f"{COMPOSE_FILE}: {name} runs {argv} without --no-reload, before Asterisk (AMI) is up"
        )
        settings = apply_settings(name, monkeypatch)
        assert settings.static_contacts is False, (
            f"{COMPOSE_FILE}: {name} gives the phones the test profile's loopback contacts"
        )


def test_sip_passwords_live_in_the_control_planes_state_volume(monkeypatch: pytest.MonkeyPatch) -> None:
    sources = set()
    for name in centre_writers():
        state = PurePosixPath(apply_settings(name, monkeypatch).state_dir)
        mount = mount_at(name, str(state))
        assert mount.is_volume and not mount.read_only, (
            f"{COMPOSE_FILE}: {name}'s IVR_STATE_DIR {state} (secrets/sip_<name>) "
            "is not a writable named volume"
        )
        sources.add(mount.source)
        for copied in copies(CONTROL_DOCKERFILE):
            assert not PurePosixPath(copied.dest).is_relative_to(state), (
                f"{CONTROL_DOCKERFILE} copies {copied.sources} into the state folder {state}"
            )
    assert len(sources) == 1, (
        f"{COMPOSE_FILE}: the writers of the centre files keep the SIP passwords in {sorted(sources)}; "
        "a reload would give every phone a new one"
    )


def test_centre_files_are_readable_by_asterisks_group_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The writer gives the files the group of IVR_ASTERISK_ETC and no access for others.
    etc, state = tmp_path / "etc", tmp_path / "state"
    etc.mkdir()
    other_groups = [g for g in os.getgroups() if g != os.getgid()]
    if other_groups:
        os.chown(etc, -1, other_groups[0])
    config = load_config(REPO / "queue" / "kendari.yaml")
    write_files(config, ApplySettings(asterisk_etc=etc, state_dir=state).files())
    for path in [etc / CENTRE_FOLDER, *(etc / CENTRE_FOLDER).iterdir()]:
        info = path.stat()
        assert info.st_gid == etc.stat().st_gid, (
            f"ivr/adapters/centre_endpoints.py gives {path.name} another group"
        )
        assert stat.S_IMODE(info.st_mode) & 0o007 == 0, (
            f"ivr/adapters/centre_endpoints.py leaves {path.name} open to others ({oct(info.st_mode)})"
        )
    # Both images: the group asterisk has the same gid; the writer's etc folder is the
    # control-plane image's, of that group, and the writer (the image's user) belongs to it.
    gids = {}
    for path in (ASTERISK_DOCKERFILE, CONTROL_DOCKERFILE):
        args = [
            i.args for i in final_stage(path) if i.keyword == "ARG" and i.args.startswith("ASTERISK_GID=")
        ]
        assert len(args) == 1, f"{path}: no single ARG ASTERISK_GID=<gid> in its final stage"
        gids[path] = args[0].partition("=")[2]
    assert len(set(gids.values())) == 1 and all(g.isdigit() for g in gids.values()), (
        f"the group asterisk's gid differs between the images: {gids}"
    )
    runs = " && ".join(i.args for i in final_stage(ASTERISK_DOCKERFILE) if i.keyword == "RUN")
    assert re.search(r'groupmod --gid "\$ASTERISK_GID" asterisk', runs), (
        f"{ASTERISK_DOCKERFILE} does not give the group asterisk the gid ASTERISK_GID"
    )
    assert re.search(r'\[ "\$\(id -g asterisk\)" = "\$ASTERISK_GID" \]', runs), (
        f"{ASTERISK_DOCKERFILE} does not check the user asterisk's group is ASTERISK_GID"
    )
    assert "exec /usr/sbin/asterisk -f -U asterisk -G asterisk" in (REPO / ENTRYPOINT).read_text(), (
        f"{ENTRYPOINT} no longer runs Asterisk with the group asterisk"
    )
    users = [i.args for i in final_stage(CONTROL_DOCKERFILE) if i.keyword == "USER"]
    assert users, f"{CONTROL_DOCKERFILE} has no USER"
    user = users[-1]
    for name in centre_writers():
        assert service(name).get("user", user) == user, f"{COMPOSE_FILE}: {name} runs as another user"
    runs = " && ".join(i.args for i in final_stage(CONTROL_DOCKERFILE) if i.keyword == "RUN")
    etc_in_image = asterisk_etc()
    wanted = [
        r'groupadd (--system )?--gid "\$ASTERISK_GID" asterisk',
        rf"usermod --append --groups asterisk {user}\b",
        rf"chown root:asterisk {etc_in_image}( |$)",
        rf"chown {user}:asterisk {etc_in_image / CENTRE_FOLDER}( |$)",
    ]
    missing = [pattern for pattern in wanted if not re.search(pattern, runs)]
    assert missing == [], f"{CONTROL_DOCKERFILE} lacks {missing}"
    modes = {
        path: mode
        for mode, path in re.findall(r"chmod (0?[0-7]{3}) (/\S+)", runs)
        if path.startswith(str(etc_in_image))
    }
    assert set(modes) == {str(etc_in_image), str(etc_in_image / CENTRE_FOLDER)}, (
        f"{CONTROL_DOCKERFILE} sets the modes {modes}"
    )
    assert all(int(mode, 8) & 0o007 == 0 for mode in modes.values()), (
        f"{CONTROL_DOCKERFILE} opens the centre folder to others: {modes}"
    )


def run_entrypoint(root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """docker/asterisk/entrypoint.sh on a fake root: its absolute paths moved under `root`,
    the render run from the checkout, chgrp/chown/runuser/asterisk replaced by stubs that
    log their arguments (runuser runs its command as the current user)."""
    text = (REPO / ENTRYPOINT).read_text()
    app = re.search(r"^app=(/\S+)$", text, re.M)
    assert app, f"{ENTRYPOINT}: no app=..."
    text = text.replace(app[0], f"app={shlex.quote(str(REPO))}")
    for prefix in ("/usr/sbin/asterisk", "/etc/asterisk", "/run/asterisk", "/var/"):
        assert prefix in text, f"{ENTRYPOINT} no longer mentions {prefix}"
        text = text.replace(prefix, f"{root}{prefix}")
    stubs = root / "stubs"
    stubs.mkdir(exist_ok=True)
    for name, action in (("chgrp", ""), ("chown", ""), ("runuser", 'shift 3; exec "$@"')):
        (stubs / name).write_text(f'#!/bin/sh\necho "{name} $*" >>"{root}/calls"\n{action}\n')
        (stubs / name).chmod(0o755)
    (root / "usr" / "sbin").mkdir(parents=True, exist_ok=True)
    (root / "usr/sbin/asterisk").write_text(f'#!/bin/sh\necho "asterisk $*" >>"{root}/calls"\n')
    (root / "usr/sbin/asterisk").chmod(0o755)
    script = root / "entrypoint.sh"
    script.write_text(text)
    return subprocess.run(
        ["bash", str(script)],
        env={"PATH": f"{stubs}:{os.environ['PATH']}", "TMPDIR": str(root), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_entrypoint_renders_around_the_centre_folder(tmp_path: Path) -> None:
    etc = tmp_path / str(asterisk_etc()).lstrip("/")
    centre = etc / CENTRE_FOLDER
    centre.mkdir(parents=True)
    generated = {
        name: f"; generated {name}\n" for name in (asterisk_centre.PJSIP_FILE, asterisk_centre.QUEUES_FILE)
    }
    for name, text in generated.items():
        (centre / name).write_text(text)
    (etc / "stale.conf").write_text("; left by an older image\n")
    env = {
        "IVR_ARI_PASSWORD": "ari-password",
        "IVR_AMI_PASSWORD": "ami-password",
        "IVR_WATCHDOG_AMI_PASSWORD": "watchdog-ami-password",
        "IVR_ASTERISK_METRICS_PASSWORD": "asterisk-metrics-password",
        "IVR_STATE_DIR": str(tmp_path / "state"),
    }
    done = run_entrypoint(tmp_path, env)
    assert done.returncode == 0, f"{ENTRYPOINT} failed on a fake root: {done.stderr}"
    managers = (etc / "manager_users.conf").read_text()
    assert "[ivr112-watchdog]\nsecret = watchdog-ami-password\n" in managers, (
        f"{ENTRYPOINT}: the watchdog's AMI user does not get IVR_WATCHDOG_AMI_PASSWORD:\n{managers}"
    )
    assert "auth_password = asterisk-metrics-password\n" in (etc / "prometheus_users.conf").read_text()
    assert {p.name: p.read_text() for p in centre.iterdir()} == generated, (
        f"{ENTRYPOINT} changed {centre.relative_to(tmp_path)}, the control plane's folder"
    )
    rendered = {p.name for p in etc.iterdir() if p.is_file()}
    sources = {p.name for folder in RENDER.SOURCES for p in Path(folder).glob("*.conf")}
    assert sources <= rendered and "stale.conf" not in rendered, (
        f"{ENTRYPOINT} left {sorted(rendered)} in {asterisk_etc()}; {RENDER_FILE} renders {sorted(sources)}"
    )
    assert "astdbdir => " in (etc / "asterisk.conf").read_text(), f"{ENTRYPOINT} no longer adds astdbdir"
    calls = (tmp_path / "calls").read_text().splitlines()
    for name in generated:
        assert f"runuser -u asterisk -- test -r {centre / name}" in calls, (
            f"{ENTRYPOINT} does not check that Asterisk reads {CENTRE_FOLDER}/{name}: {calls}"
        )
    assert calls[-1] == "asterisk -f -U asterisk -G asterisk", calls
    touching = [
        call
        for call in calls
        if call.startswith(("chgrp", "chown"))
        and (str(centre) in call or ("-R" in call.split() and str(etc) in call))
    ]
    assert touching == [], f"{ENTRYPOINT} changes the read-only {CENTRE_FOLDER}/ volume: {touching}"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith("tmp.")]
    assert leftovers == [], f"{ENTRYPOINT} leaves its render folder {leftovers} (with the secrets) behind"

    (centre / asterisk_centre.QUEUES_FILE).unlink()
    (tmp_path / "calls").unlink()
    done = run_entrypoint(tmp_path, env)
    assert done.returncode != 0 and asterisk_centre.QUEUES_FILE in done.stderr, (
        f"{ENTRYPOINT} starts Asterisk without {CENTRE_FOLDER}/{asterisk_centre.QUEUES_FILE}: {done.stderr}"
    )
    assert "asterisk -f" not in (tmp_path / "calls").read_text(), f"{ENTRYPOINT} started Asterisk anyway"


# ---- health and start order ---------------------------------------------------------------------


def test_every_long_running_service_has_a_health_check() -> None:
    for name in long_running():
        spec = service(name)
        in_compose = (spec.get("healthcheck") or {}).get("test")
        built = build_dockerfile(name)
        in_image = healthcheck_command(built) if built else None
        assert not (spec.get("healthcheck") or {}).get("disable"), (
            f"{COMPOSE_FILE}: {name} disables its check"
        )
        assert in_compose or in_image, (
            f"service '{name}' has no health check: none in {COMPOSE_FILE}, none in {built or 'its image'}"
        )


def test_one_shots_run_once() -> None:
    assert one_shots(), f"{COMPOSE_FILE}: no service waits for a one-shot (service_completed_successfully)"
    for name in one_shots():
        assert str(service(name).get("restart", "no")) == "no", (
            f"{COMPOSE_FILE}: the one-shot {name} restarts ({service(name).get('restart')}); "
            "a service waits for it to have exited 0"
        )


def test_control_plane_starts_after_healthy_redis_and_asterisk() -> None:
    # Not after the watchdog: a watchdog that fails to start must not keep the control plane down.
    wanted = {
        name: {"condition": "service_healthy"} for name in long_running() if name in ("redis", "asterisk")
    }
    assert len(wanted) == 2, f"{COMPOSE_FILE} lost its redis or asterisk service"
    depends = service("control-plane").get("depends_on", {})
    assert isinstance(depends, dict), f"{COMPOSE_FILE}: control-plane depends_on has no conditions"
    found = {name: {"condition": spec.get("condition")} for name, spec in depends.items()}
    assert found == wanted, f"{COMPOSE_FILE}: control-plane depends_on {found}, wanted {wanted}"


def test_control_plane_health_check_asks_the_open_health_route() -> None:
    http = REPO / "ivr" / "adapters" / "http"
    api = "".join((http / name).read_text() for name in ("api.py", "health.py"))
    path = HEALTHCHECK.HEALTH_PATH
    registered = KEPT.get(path, path)  # /api/health: served as registered at /api/v1/health
    assert f'add_get("{registered}"' in api, (
        f"docker/control-plane/healthcheck.py asks {path}, not a route of api.py or health.py"
    )
    assert path in OPEN, (
        f"{path} (docker/control-plane/healthcheck.py) needs a token (ivr/adapters/http/auth.py)"
    )
    target = copy_dest(CONTROL_DOCKERFILE, "docker/control-plane/healthcheck.py")
    command = healthcheck_command(CONTROL_DOCKERFILE) or ""
    assert str(target) in command, f"{CONTROL_DOCKERFILE} HEALTHCHECK {command!r} does not run {target}"
    env = effective_env("control-plane", CONTROL_DOCKERFILE)
    port = str(settings_default("http_port"))
    url: Callable[[dict[str, str]], str] = HEALTHCHECK.health_url
    assert url(env) == f"http://127.0.0.1:{env['IVR_HTTP_PORT']}{path}", (url(env), COMPOSE_FILE)
    assert url({}) == f"http://127.0.0.1:{port}{path}", (
        f"healthcheck.py without env: {url({})}, settings {port}"
    )
    alone = image_env(CONTROL_DOCKERFILE)  # the image run without compose: any-address bind
    assert url(alone) == f"http://127.0.0.1:{alone['IVR_HTTP_PORT']}{path}", (
        f"docker/control-plane/healthcheck.py asks {url(alone)} for the {CONTROL_DOCKERFILE} defaults "
        f"IVR_HTTP_BIND={alone.get('IVR_HTTP_BIND')} IVR_HTTP_PORT={alone.get('IVR_HTTP_PORT')}"
    )
