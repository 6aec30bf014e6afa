# The production containers (docker/) agree with what they package: the ports the
# Dockerfiles expose and docker/compose.yaml uses are those of asterisk-conf/ (through
# scripts/render_conf.py's defaults) and of ivr/settings.py; every secret the render or
# the control plane reads is required from the environment, with no default, wherever it
# is given; the services share the host's network that the loopback paths assume; the
# volumes, health checks and start order exist; the centre's generated endpoints
# (ivr/config/asterisk_centre.py) are written by a one-shot before Asterisk starts into a
# volume Asterisk reads read-only at the folder pjsip.conf and queues.conf #include, which
# the control plane rewrites on a reload, with the SIP passwords in the control plane's
# state volume and a group gid both images share; the entrypoint's render leaves that
# folder alone; the Asterisk image installs exactly the package list
# scripts/asterisk-root.sh uses, from Debian sid, and the files each image copies exist
# and are not excluded from its build context.
# Rules: no docker, no network, nothing built: files are parsed (the entrypoint and
# `config apply`'s writer are run on temporary folders); every assertion compares two
# files of the repository, and its message names the files and the values.
from __future__ import annotations

import importlib.util
import os
import re
import shlex
import stat
import subprocess
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, get_args

import pytest
import yaml
from pydantic import SecretStr

import ivr.__main__ as ivr_cli
from ivr.adapters.http.auth import OPEN
from ivr.config import asterisk_centre
from ivr.config.loader import load as load_config
from ivr.settings import Settings
from ivr.tools.config_apply import ApplySettings, write_files

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
COMPOSE_FILE = "docker/compose.yaml"
ASTERISK_DOCKERFILE = "docker/asterisk/Dockerfile"
CONTROL_DOCKERFILE = "docker/control-plane/Dockerfile"
RENDER_FILE = "scripts/render_conf.py"
ROOT_SCRIPT = "scripts/asterisk-root.sh"
PACKAGE_LIST = "scripts/asterisk-packages.txt"
ENTRYPOINT = "docker/asterisk/entrypoint.sh"


def load_script(relative: str, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / relative)
    assert spec is not None and spec.loader is not None, relative
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RENDER = load_script(RENDER_FILE, "render_conf_under_test")
HEALTHCHECK = load_script("docker/control-plane/healthcheck.py", "healthcheck_under_test")
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / COMPOSE_FILE).read_text())


# ---- Dockerfiles -------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    stage: int  # 0 for the first FROM's stage


def dockerfile(relative: str) -> list[Instruction]:
    """The instructions of a Dockerfile, continuation lines joined, comments dropped."""
    found: list[Instruction] = []
    pending, stage = "", -1
    for line in (REPO / relative).read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, args = (pending + stripped).partition(" ")
        pending = ""
        if keyword.upper() == "FROM":
            stage += 1
        found.append(Instruction(keyword.upper(), args.strip(), stage))
    return found


def final_stage(relative: str) -> list[Instruction]:
    instructions = dockerfile(relative)
    last = max(i.stage for i in instructions)
    return [i for i in instructions if i.stage == last]


def exposed(relative: str) -> set[str]:
    return {port for i in final_stage(relative) if i.keyword == "EXPOSE" for port in i.args.split()}


def image_env(relative: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for i in final_stage(relative):
        if i.keyword == "ENV":
            for token in shlex.split(i.args):
                name, sep, value = token.partition("=")
                assert sep, f"{relative}: ENV {i.args!r} is not in the NAME=value form"
                env[name] = value
    return env


@dataclass(frozen=True)
class Copy:
    sources: tuple[str, ...]
    dest: str
    from_stage: str | None


def copies(relative: str, *, final_only: bool = False) -> list[Copy]:
    found = []
    for i in final_stage(relative) if final_only else dockerfile(relative):
        if i.keyword != "COPY":
            continue
        words = shlex.split(i.args)
        flags = [w for w in words if w.startswith("--")]
        paths = [w for w in words if not w.startswith("--")]
        origin = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
        found.append(Copy(tuple(paths[:-1]), paths[-1], origin))
    return found


def copy_dest(relative: str, source: str) -> PurePosixPath:
    """Where the final image of `relative` holds the repository path `source`."""
    for c in copies(relative, final_only=True):
        if c.from_stage is None and source in c.sources:
            dest = PurePosixPath(c.dest)
            return dest / PurePosixPath(source).name if c.dest.endswith("/") else dest
    raise AssertionError(f"{relative} does not copy {source} into its final image")


def healthcheck_command(relative: str) -> str | None:
    checks = [i.args for i in final_stage(relative) if i.keyword == "HEALTHCHECK"]
    if not checks or checks[-1].strip().upper() == "NONE":
        return None
    return checks[-1]


# ---- docker/compose.yaml -------------------------------------------------------------------

VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


class RequiredVariable(Exception):
    """A ${NAME:?message} met while resolving without any variable set."""


def unset_value(text: str) -> str:
    """`text` as compose passes it when none of its variables is set."""

    def one(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        if operator in (":-", "-"):
            return argument
        if operator in (":?", "?"):
            raise RequiredVariable(name)
        return ""

    return VARIABLE.sub(one, text)


def service(name: str) -> dict[str, Any]:
    services = COMPOSE.get("services", {})
    assert name in services, f"{COMPOSE_FILE} has no service '{name}' (has {sorted(services)})"
    found: dict[str, Any] = services[name]
    return found


def compose_env(name: str) -> dict[str, str | None]:
    """A service's environment as written (None: passed on from where compose runs)."""
    raw = service(name).get("environment", {})
    if isinstance(raw, list):
        pairs = [item.split("=", 1) if "=" in item else [item, None] for item in raw]
        return {key: value for key, value in pairs}
    return {key: None if value is None else str(value) for key, value in raw.items()}


def compose_default(name: str, variable: str) -> str:
    written = compose_env(name).get(variable)
    assert written is not None, f"{COMPOSE_FILE}: service '{name}' does not set {variable}"
    try:
        return unset_value(written)
    except RequiredVariable:
        raise AssertionError(f"{COMPOSE_FILE}: {name}'s {variable} ({written}) has no default") from None


def effective_env(name: str, dockerfile_path: str) -> dict[str, str]:
    """What the container sees with no variable set: the image's ENV, then compose's values."""
    env = image_env(dockerfile_path)
    for variable, written in compose_env(name).items():
        if written is None:
            continue
        try:
            env[variable] = unset_value(written)
        except RequiredVariable:
            env[variable] = "<required>"
    return env


@dataclass(frozen=True)
class Mount:
    source: str  # a named volume, or a path relative to docker/
    target: str
    read_only: bool

    @property
    def is_volume(self) -> bool:
        return not self.source.startswith((".", "/", "~"))


def mounts(name: str) -> list[Mount]:
    found = []
    for entry in service(name).get("volumes", []):
        if isinstance(entry, dict):
            found.append(Mount(entry["source"], entry["target"], bool(entry.get("read_only"))))
            continue
        parts = unset_value(entry).split(":")
        found.append(Mount(parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(",")))
    return found


def mount_at(name: str, target: str) -> Mount:
    for m in mounts(name):
        if m.target.rstrip("/") == target.rstrip("/"):
            return m
    raise AssertionError(
        f"{COMPOSE_FILE}: service '{name}' mounts nothing at {target} "
        f"(its mounts: {[f'{m.source}:{m.target}' for m in mounts(name)]})"
    )


def build_dockerfile(name: str) -> str | None:
    build = service(name).get("build")
    if build is None:
        return None
    context = (DOCKER / build.get("context", ".")).resolve()
    assert context == REPO, (
        f"{COMPOSE_FILE}: {name}'s build context {build.get('context')} is not the repo root"
    )
    return str(build.get("dockerfile", "Dockerfile"))


def one_shots() -> set[str]:
    """Services another one waits for to have exited 0 (service_completed_successfully)."""
    return {
        needed
        for spec in COMPOSE["services"].values()
        for needed, condition in (spec.get("depends_on") or {}).items()
        if isinstance(condition, dict) and condition.get("condition") == "service_completed_successfully"
    }


def long_running() -> list[str]:
    return [name for name in COMPOSE["services"] if name not in one_shots()]


# ---- asterisk-conf/ --------------------------------------------------------------------------


def conf_value(conf: str, section_name: str, key: str) -> str:
    """One `key = value` of a section of an asterisk-conf/ file (comments dropped)."""
    inside = False
    for raw in (REPO / "asterisk-conf" / conf).read_text().splitlines():
        line = raw.split(";", 1)[0].strip()
        if line.startswith("["):
            inside = line.split("]", 1)[0] == f"[{section_name}"
        elif inside and "=" in line:
            name, _, value = line.partition("=")
            if name.strip() == key:
                return value.strip().lstrip(">").strip()
    raise AssertionError(f"asterisk-conf/{conf} has no {key} in [{section_name}]")


def rendered_default(conf: str, section_name: str, key: str) -> tuple[str, str]:
    """The value render_conf.py gives a placeholder of asterisk-conf/ when the environment
    does not: (placeholder name, default)."""
    value = conf_value(conf, section_name, key)
    match = re.fullmatch(r"@@(\w+)@@", value)
    assert match, f"asterisk-conf/{conf} [{section_name}] {key} = {value} is not a @@PLACEHOLDER@@"
    defaults: dict[str, str] = RENDER.DEFAULTS
    assert match[1] in defaults, f"{RENDER_FILE} has no default for @@{match[1]}@@ of asterisk-conf/{conf}"
    return match[1], defaults[match[1]]


def port_of(address: str) -> str:
    return address.rpartition(":")[2]


def settings_default(field: str) -> Any:
    return Settings.model_fields[field].default


def settings_env(field: str) -> str:
    return f"{Settings.model_config.get('env_prefix', '')}{field}".upper()


# ---- ports ------------------------------------------------------------------------------------


def test_sip_port_is_the_transport_of_pjsip_conf() -> None:
    protocol = conf_value("pjsip.conf", "transport-udp", "protocol")
    name, default = rendered_default("pjsip.conf", "transport-udp", "bind")
    port = port_of(default)
    wanted = f"{port}/{protocol}"
    assert wanted in exposed(ASTERISK_DOCKERFILE), (
        f"{ASTERISK_DOCKERFILE} EXPOSEs {sorted(exposed(ASTERISK_DOCKERFILE))}, not {wanted}: the "
        f"transport of asterisk-conf/pjsip.conf binds @@{name}@@ = {default} ({RENDER_FILE})"
    )
    in_image = port_of(image_env(ASTERISK_DOCKERFILE).get(name, default))
    assert in_image == port, f"{ASTERISK_DOCKERFILE} ENV {name} port {in_image} != {port} ({RENDER_FILE})"
    in_compose = port_of(compose_default("asterisk", name))
    assert in_compose == port, f"{COMPOSE_FILE} asterisk {name} port {in_compose} != {port} ({RENDER_FILE})"


def test_rtp_range_is_the_one_of_rtp_conf() -> None:
    wanted = (
        f"{conf_value('rtp.conf', 'general', 'rtpstart')}-{conf_value('rtp.conf', 'general', 'rtpend')}/udp"
    )
    assert wanted in exposed(ASTERISK_DOCKERFILE), (
        f"{ASTERISK_DOCKERFILE} EXPOSEs {sorted(exposed(ASTERISK_DOCKERFILE))}, "
        f"not asterisk-conf/rtp.conf's range {wanted}"
    )


@pytest.mark.parametrize(
    ("conf", "key", "settings_field", "client_variable"),
    [
        ("http.conf", "bindport", "ari_url", "IVR_ARI_URL"),  # ARI
        ("manager.conf", "port", "ami_port", "IVR_AMI_PORT"),  # AMI
    ],
)
def test_ari_and_ami_ports_agree_everywhere(
    conf: str, key: str, settings_field: str, client_variable: str
) -> None:
    name, port = rendered_default(conf, "general", key)
    where = f"asterisk-conf/{conf} {key} = @@{name}@@, {port} in {RENDER_FILE}"
    assert f"{port}/tcp" in exposed(ASTERISK_DOCKERFILE), (
        f"{ASTERISK_DOCKERFILE} EXPOSEs {sorted(exposed(ASTERISK_DOCKERFILE))}, not {port}/tcp ({where})"
    )
    in_image = image_env(ASTERISK_DOCKERFILE).get(name, port)
    assert in_image == port, f"{ASTERISK_DOCKERFILE} ENV {name}={in_image} ({where})"
    in_compose = compose_default("asterisk", name)
    assert in_compose == port, f"{COMPOSE_FILE} asterisk {name} defaults to {in_compose} ({where})"
    client = port_of(compose_default("control-plane", client_variable))
    assert client == port, f"{COMPOSE_FILE} control-plane {client_variable} uses port {client} ({where})"
    built_in = port_of(str(settings_default(settings_field)))
    assert built_in == port, f"ivr/settings.py {settings_field} defaults to port {built_in} ({where})"


def test_control_plane_ports_are_the_settings_defaults() -> None:
    http_port = str(settings_default("http_port"))
    screening = f"{settings_default('screening_rtp_ports')}/udp"
    ports = exposed(CONTROL_DOCKERFILE)
    assert f"{http_port}/tcp" in ports, (
        f"{CONTROL_DOCKERFILE} EXPOSEs {sorted(ports)}, not ivr/settings.py's http_port {http_port}/tcp"
    )
    assert screening in ports, (
        f"{CONTROL_DOCKERFILE} EXPOSEs {sorted(ports)}, not ivr/settings.py's screening_rtp_ports {screening}"
    )
    in_image = image_env(CONTROL_DOCKERFILE).get("IVR_HTTP_PORT", http_port)
    assert in_image == http_port, f"{CONTROL_DOCKERFILE} ENV IVR_HTTP_PORT={in_image}, settings {http_port}"
    in_compose = compose_default("control-plane", "IVR_HTTP_PORT")
    assert in_compose == http_port, (
        f"{COMPOSE_FILE} IVR_HTTP_PORT defaults to {in_compose}, settings {http_port}"
    )


def test_redis_listens_where_the_control_plane_looks() -> None:
    command = [str(word) for word in service("redis").get("command", [])]
    options = dict(zip(command[1::2], command[2::2], strict=False))
    url = compose_default("control-plane", "IVR_REDIS_URL")
    port = re.fullmatch(r"rediss?://[^/:]+:(\d+)(?:/\d+)?", url)
    assert port, f"{COMPOSE_FILE} IVR_REDIS_URL {url} names no port"
    assert options.get("--port") == port[1], (
        f"{COMPOSE_FILE}: redis listens on {options.get('--port')}, IVR_REDIS_URL says {port[1]}"
    )
    assert options.get("--appendonly") == "yes", f"{COMPOSE_FILE}: redis runs without --appendonly yes"
    data = mount_at("redis", options.get("--dir", "/data"))
    assert data.is_volume, f"{COMPOSE_FILE}: redis data {data.target} is not on a named volume"


def test_loopback_paths_share_the_host_network() -> None:
    # The screening audio goes to the settings' loopback host, the AMI user may only
    # connect from loopback (render_conf.py), and ARI/Redis are asked on loopback.
    render_source = (REPO / RENDER_FILE).read_text()
    assert "permit = 127.0.0.0/255.0.0.0" in render_source, f"{RENDER_FILE} no longer limits AMI to loopback"
    loopback = {
        "IVR_SCREENING_RTP_HOST": str(settings_default("screening_rtp_host")),
        "IVR_AMI_HOST": compose_default("control-plane", "IVR_AMI_HOST"),
        "IVR_ARI_URL": compose_default("control-plane", "IVR_ARI_URL"),
        "IVR_REDIS_URL": compose_default("control-plane", "IVR_REDIS_URL"),
    }
    assert all("127.0.0.1" in value for value in loopback.values()), loopback
    modes = {name: service(name).get("network_mode") for name in long_running()}
    assert set(modes.values()) == {"host"}, (
        f"{COMPOSE_FILE} network modes {modes}: the control plane reaches {loopback} on loopback "
        f"(ivr/settings.py, {RENDER_FILE}), so every service needs the host's network"
    )
    assert compose_default("asterisk", "ASTERISK_HTTP_BIND") in ("127.0.0.1", "0.0.0.0"), (
        f"{COMPOSE_FILE}: ARI bound where {loopback['IVR_ARI_URL']} does not reach it"
    )


# ---- secrets -----------------------------------------------------------------------------------


def render_secrets() -> set[str]:
    """Secrets render_conf.py writes into Asterisk's configuration (env, else a stored one)."""
    source = (REPO / RENDER_FILE).read_text()
    return set(re.findall(r'os\.environ\.get\("(\w+)"\) or stored_secret', source))


def settings_secrets() -> set[str]:
    return {
        settings_env(name)
        for name, field in Settings.model_fields.items()
        if field.annotation is SecretStr or SecretStr in get_args(field.annotation)
    }


def test_secrets_are_found_in_both_sources() -> None:
    # Guards the two finders below: a renamed variable must not make the checks vacuous.
    assert {"IVR_ARI_PASSWORD", "IVR_AMI_PASSWORD"} <= render_secrets(), RENDER_FILE
    assert {"IVR_ARI_PASSWORD", "IVR_API_TOKEN"} <= settings_secrets(), "ivr/settings.py"


@pytest.mark.parametrize("secret", sorted(render_secrets() | settings_secrets()))
def test_every_secret_is_required_from_the_environment(secret: str) -> None:
    readers = {"control-plane": "ivr/settings.py", "asterisk": RENDER_FILE}
    needed_by = {"control-plane"} if secret in settings_secrets() else set()
    needed_by |= {"asterisk"} if secret in render_secrets() else set()
    source = " and ".join(readers[name] for name in sorted(needed_by))
    required = re.compile(rf"\$\{{{secret}:\?[^}}]+\}}")
    for name in COMPOSE["services"]:
        written = compose_env(name).get(secret, "")
        if name in needed_by:
            assert written, (
                f"{COMPOSE_FILE}: service '{name}' is not given {secret} (read by {readers[name]})"
            )
        if written:
            assert required.fullmatch(written), (
                f"{COMPOSE_FILE}: service '{name}' sets {secret} to {written!r}; a secret read by "
                f"{source} must be ${{{secret}:?message}}, with no default"
            )
    assert not re.search(rf"\$\{{{secret}:?-", (REPO / COMPOSE_FILE).read_text()), (
        f"{COMPOSE_FILE} gives {secret} (read by {source}) a default somewhere"
    )
    for path in (ASTERISK_DOCKERFILE, CONTROL_DOCKERFILE):
        baked = [i.args for i in dockerfile(path) if i.keyword in ("ENV", "ARG") and secret in i.args]
        assert baked == [], f"{path} bakes {secret} (read by {source}) into the image: {baked}"


def test_asterisk_entrypoint_refuses_to_start_without_the_rendered_secrets() -> None:
    script = (DOCKER / "asterisk" / "entrypoint.sh").read_text()
    for secret in sorted(render_secrets()):
        assert f'[ -n "${{{secret}:-}}" ] || die' in script, (
            f"docker/asterisk/entrypoint.sh starts without {secret}; {RENDER_FILE} would invent one "
            "the control plane does not know"
        )


def test_variables_read_by_both_render_and_settings_are_given_alike() -> None:
    source = (REPO / RENDER_FILE).read_text()
    rendered = set(RENDER.DEFAULTS) | set(re.findall(r'^\s*\w+ = os\.environ\.get\("(\w+)"', source, re.M))
    shared = rendered & {settings_env(name) for name in Settings.model_fields}
    assert {"IVR_ARI_USER", "IVR_ARI_PASSWORD", "IVR_ARI_APP"} <= shared, shared
    asterisk, control = compose_env("asterisk"), compose_env("control-plane")
    different = {
        v: (asterisk.get(v), control.get(v)) for v in sorted(shared) if asterisk.get(v) != control.get(v)
    }
    assert different == {}, (
        f"{COMPOSE_FILE}: asterisk and control-plane must get the same value for what both "
        f"{RENDER_FILE} and ivr/settings.py read; (asterisk, control-plane): {different}"
    )


# ---- volumes -----------------------------------------------------------------------------------


def test_recordings_volume_is_asterisks_recording_folder_seen_by_the_control_plane() -> None:
    lib = (REPO / "scripts" / "lib.sh").read_text()
    inside_root = re.search(r"IVR_RECORDINGS_PATH:=\$ASTERISK_ROOT(/\S+?)\}", lib)
    assert inside_root, "scripts/lib.sh no longer says where Asterisk records (IVR_RECORDINGS_PATH)"
    asterisk_side = mount_at("asterisk", inside_root[1])
    assert asterisk_side.is_volume, f"{COMPOSE_FILE}: asterisk's {inside_root[1]} is not a named volume"
    seen_at = effective_env("control-plane", CONTROL_DOCKERFILE).get("IVR_RECORDINGS_PATH")
    assert seen_at, f"{COMPOSE_FILE}/{CONTROL_DOCKERFILE}: the control plane has no IVR_RECORDINGS_PATH"
    control_side = mount_at("control-plane", seen_at)
    assert control_side.source == asterisk_side.source, (
        f"{COMPOSE_FILE}: the control plane's IVR_RECORDINGS_PATH {seen_at} holds '{control_side.source}', "
        f"Asterisk records (scripts/lib.sh: {inside_root[1]}) into '{asterisk_side.source}'"
    )


@pytest.mark.parametrize("name", ["control-plane", "centre-config"])
def test_centre_configuration_is_the_checkouts_queue_folder(name: str) -> None:
    config = PurePosixPath(effective_env(name, CONTROL_DOCKERFILE)["IVR_CENTRE_CONFIG"])
    mount = mount_at(name, str(config.parent))
    host_folder = (DOCKER / mount.source).resolve()
    assert host_folder == REPO / "queue", (
        f"{COMPOSE_FILE}: {name} mounts {mount.source}, not queue/, at {config.parent}"
    )
    assert mount.read_only, f"{COMPOSE_FILE}: {name} may write the centre configuration {config.parent}"
    assert (host_folder / config.name).is_file(), (
        f"IVR_CENTRE_CONFIG {config} of {COMPOSE_FILE} names queue/{config.name}, which does not exist"
    )
    baked = copy_dest(CONTROL_DOCKERFILE, "queue")
    assert baked == config.parent, (
        f"{CONTROL_DOCKERFILE} copies queue/ to {baked}, IVR_CENTRE_CONFIG is {config}"
    )


def test_speech_model_folder_is_mounted_where_the_readme_points() -> None:
    readme = (DOCKER / "README.md").read_text()
    told = re.search(r"IVR_VOSK_MODEL=(/\S+?)`", readme)
    assert told, "docker/README.md does not say what IVR_VOSK_MODEL to set"
    mount = mount_at("control-plane", told[1])
    assert mount.read_only, f"{COMPOSE_FILE}: the model folder {told[1]} is writable"
    assert "IVR_VOSK_MODEL" in compose_env("control-plane"), (
        f"{COMPOSE_FILE} does not pass IVR_VOSK_MODEL on, yet docker/README.md tells to set it"
    )


@pytest.mark.parametrize(
    ("name", "dockerfile_path", "variable", "default"),
    [
        ("control-plane", CONTROL_DOCKERFILE, "IVR_ARCHIVE_PATH", str(settings_default("archive_path"))),
        ("asterisk", ASTERISK_DOCKERFILE, "IVR_STATE_DIR", None),
    ],
)
def test_state_folders_are_on_volumes(
    name: str, dockerfile_path: str, variable: str, default: str | None
) -> None:
    if default is None:  # the state folder: render_conf.py's own default
        found = re.search(rf'os\.environ\.get\("{variable}", "([^"]+)"\)', (REPO / RENDER_FILE).read_text())
        assert found, f"{RENDER_FILE} has no default for {variable}"
        default = found[1]
    path = effective_env(name, dockerfile_path).get(variable, default)
    folder = path if variable.endswith("_DIR") else str(PurePosixPath(path).parent)
    mount = mount_at(name, folder)
    assert mount.is_volume and not mount.read_only, f"{COMPOSE_FILE}: {name}'s {variable} {path} is not kept"


def test_every_named_volume_is_declared() -> None:
    used = {m.source for name in COMPOSE["services"] for m in mounts(name) if m.is_volume}
    declared = set(COMPOSE.get("volumes") or {})
    assert used == declared, f"{COMPOSE_FILE}: volumes used {sorted(used)}, declared {sorted(declared)}"


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
    ivr/tools/config_apply.py's own rules."""
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
    write_files(config, ApplySettings(asterisk_etc=etc, state_dir=state))
    for path in [etc / CENTRE_FOLDER, *(etc / CENTRE_FOLDER).iterdir()]:
        info = path.stat()
        assert info.st_gid == etc.stat().st_gid, f"ivr/tools/config_apply.py gives {path.name} another group"
        assert stat.S_IMODE(info.st_mode) & 0o007 == 0, (
            f"ivr/tools/config_apply.py leaves {path.name} open to others ({oct(info.st_mode)})"
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
        "IVR_STATE_DIR": str(tmp_path / "state"),
    }
    done = run_entrypoint(tmp_path, env)
    assert done.returncode == 0, f"{ENTRYPOINT} failed on a fake root: {done.stderr}"
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
    wanted = {name: {"condition": "service_healthy"} for name in long_running() if name != "control-plane"}
    depends = service("control-plane").get("depends_on", {})
    assert isinstance(depends, dict), f"{COMPOSE_FILE}: control-plane depends_on has no conditions"
    found = {name: {"condition": spec.get("condition")} for name, spec in depends.items()}
    assert found == wanted, f"{COMPOSE_FILE}: control-plane depends_on {found}, wanted {wanted}"


def test_control_plane_health_check_asks_the_open_health_route() -> None:
    api = (REPO / "ivr" / "adapters" / "http" / "api.py").read_text()
    path = HEALTHCHECK.HEALTH_PATH
    assert f'add_get("{path}"' in api, (
        f"docker/control-plane/healthcheck.py asks {path}, not a route of api.py"
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
    bases = [i.args.split()[0] for i in dockerfile(ASTERISK_DOCKERFILE) if i.keyword == "FROM"]
    suite = re.search(r"^\s+(\w+) \"\$tmp\" \"\$DEBIAN_MIRROR\"", (REPO / ROOT_SCRIPT).read_text(), re.M)
    assert suite, f"{ROOT_SCRIPT}: the mmdebstrap suite was not found"
    assert bases[-1] == f"debian:{suite[1]}", (
        f"{ASTERISK_DOCKERFILE} runs on {bases[-1]}, {ROOT_SCRIPT} on {suite[1]}"
    )
    for path in (ROOT_SCRIPT, ASTERISK_DOCKERFILE):
        assert '"Asterisk 22."*)' in (REPO / path).read_text(), (
            f"{path} no longer refuses an Asterisk other than 22, as both {ROOT_SCRIPT} and "
            f"{ASTERISK_DOCKERFILE} must"
        )
    base = [i.args.split()[0] for i in dockerfile(CONTROL_DOCKERFILE) if i.keyword == "FROM"][-1]
    version = re.fullmatch(r"python:(\d+)\.(\d+)\S*", base)
    needs = re.search(r'requires-python = ">=(\d+)\.(\d+)"', (REPO / "pyproject.toml").read_text())
    assert version and needs, (base, "pyproject.toml")
    assert (int(version[1]), int(version[2])) >= (int(needs[1]), int(needs[2])), (
        f"{CONTROL_DOCKERFILE} uses {base}; pyproject.toml requires Python >={needs[1]}.{needs[2]}"
    )


def test_render_finds_its_sources_and_prompts_land_where_asterisk_start_puts_them() -> None:
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
    start = (REPO / "scripts" / "asterisk-start.sh").read_text()
    sounds = re.search(r'sounds="\$ASTERISK_ROOT(/\S+)"', start)
    folder = re.fullmatch(r"sound:(\w+)/\S+", str(settings_default("greeting_media")))
    assert sounds and folder, "scripts/asterisk-start.sh or ivr/settings.py greeting_media changed shape"
    from_stage = [c.dest for c in copies(ASTERISK_DOCKERFILE, final_only=True) if c.from_stage == "prompts"]
    assert from_stage == [f"{sounds[1]}/{folder[1]}"], (
        f"{ASTERISK_DOCKERFILE} puts the prompts in {from_stage}; scripts/asterisk-start.sh and "
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
