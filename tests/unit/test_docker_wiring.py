# The production containers (docker/) agree with what they package: the ports the
# Dockerfiles expose and docker/compose.yaml uses are those of asterisk-conf/ (through
# scripts/render_conf.py's defaults) and of ivr/settings.py; every secret the render,
# the control plane, the watchdog or Redis reads is a compose secret (a file of
# docker/secrets/) given to exactly the services that read it, never an environment
# value; no secret is in any command's arguments (Redis reads its password file in the
# shell and gets it on stdin, redis-cli from REDISCLI_AUTH); the services share the host's network
# that the loopback paths assume; the volumes exist where the rest of the project looks
# for them.
# Rules: no docker, no network, nothing built: files are parsed; every assertion compares
# two files of the repository, and its message names the files and the values.
from __future__ import annotations

import itertools
import re
from pathlib import PurePosixPath
from typing import get_args

import pytest
from pydantic import SecretStr

from ivr.settings import Settings, StoreSettings, WatchdogSettings
from tests.unit.docker_files import (
    ASTERISK_DOCKERFILE,
    COMPOSE,
    COMPOSE_FILE,
    CONTROL_DOCKERFILE,
    DOCKER,
    RENDER,
    RENDER_FILE,
    REPO,
    argument_lists,
    compose_default,
    compose_env,
    compose_secrets,
    conf_value,
    container_shell,
    copy_dest,
    dockerfile,
    effective_env,
    exposed,
    image_env,
    long_running,
    mount_at,
    mounts,
    port_of,
    redis_server_argv,
    rendered_default,
    service,
    service_secrets,
    settings_default,
    settings_env,
    simple_commands,
    unset_value,
)

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
    in_image = image_env(ASTERISK_DOCKERFILE)
    ends = [rendered_default("rtp.conf", "general", key) for key in ("rtpstart", "rtpend")]
    start, end = (in_image.get(name, default) for name, default in ends)
    wanted = f"{start}-{end}/udp"
    assert wanted in exposed(ASTERISK_DOCKERFILE), (
        f"{ASTERISK_DOCKERFILE} EXPOSEs {sorted(exposed(ASTERISK_DOCKERFILE))}, "
        f"not asterisk-conf/rtp.conf's range {wanted} (@@{ends[0][0]}@@-@@{ends[1][0]}@@, {RENDER_FILE})"
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
    command = [word for word in redis_server_argv() if word != "-"]  # "-": configuration on stdin
    options = dict(zip(command[1::2], command[2::2], strict=False))
    url = compose_default("control-plane", "IVR_REDIS_URL")
    port = re.fullmatch(r"rediss?://[^/:]+:(\d+)(?:/\d+)?", url)
    assert port, f"{COMPOSE_FILE} IVR_REDIS_URL {url} names no port"
    listens = unset_value(options.get("--port", ""))  # ${REDIS_PORT:-6380}: its default
    assert listens == port[1], f"{COMPOSE_FILE}: redis listens on {listens}, IVR_REDIS_URL says {port[1]}"

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


# The services that run the package, and the settings each reads (ivr/settings.py).
SETTINGS: dict[str, type[StoreSettings]] = {"control-plane": Settings, "watchdog": WatchdogSettings}


def settings_secrets(model: type[StoreSettings] | None = None) -> set[str]:
    models = [model] if model is not None else list(SETTINGS.values())
    return {
        settings_env(name)
        for one in models
        for name, field in one.model_fields.items()
        if field.annotation is SecretStr or SecretStr in get_args(field.annotation)
    }


def test_secrets_are_found_in_both_sources() -> None:
    # Guards the two finders below: a renamed variable must not make the checks vacuous.
    assert {"IVR_ARI_PASSWORD", "IVR_AMI_PASSWORD", "IVR_WATCHDOG_AMI_PASSWORD"} <= render_secrets(), (
        RENDER_FILE
    )
    assert {"IVR_ARI_PASSWORD", "IVR_API_TOKEN"} <= settings_secrets(Settings), "ivr/settings.py"
    assert {"IVR_WATCHDOG_AMI_PASSWORD"} <= settings_secrets(WatchdogSettings), "ivr/settings.py"


# Who reads each secret besides render_conf.py (Asterisk) and ivr/settings.py: Redis's start.
OTHER_READERS = {"redis": {"IVR_REDIS_PASSWORD"}}
SECRETS_MOUNT = "/run/secrets"


def secret_file(variable: str) -> str:
    """The compose secret of a variable: its name in lower case, as ivr/settings.py and
    docker/asterisk/entrypoint.sh look for it."""
    return variable.lower()


@pytest.mark.parametrize("secret", sorted(render_secrets() | settings_secrets()))
def test_every_secret_is_a_compose_secret_given_only_to_its_readers(secret: str) -> None:
    readers = {name: f"ivr/settings.py {model.__name__}" for name, model in SETTINGS.items()}
    readers["asterisk"] = RENDER_FILE
    readers.update({name: f"{COMPOSE_FILE}'s {name} command" for name in OTHER_READERS})
    needed_by = {name for name, model in SETTINGS.items() if secret in settings_secrets(model)}
    needed_by |= {"asterisk"} if secret in render_secrets() else set()
    needed_by |= {name for name, variables in OTHER_READERS.items() if secret in variables}
    source = " and ".join(readers[name] for name in sorted(needed_by))
    name_of = secret_file(secret)
    declared = compose_secrets()
    assert name_of in declared, (
        f"{COMPOSE_FILE} declares no secret '{name_of}' for {secret} (read by {source})"
    )
    assert PurePosixPath(declared[name_of]).parent == PurePosixPath("secrets"), (
        f"{COMPOSE_FILE}: secret '{name_of}' is the file {declared[name_of]}, not one of docker/secrets/"
    )
    given = {name for name in COMPOSE["services"] if name_of in service_secrets(name)}
    assert given == needed_by, (
        f"{COMPOSE_FILE}: secret '{name_of}' is given to {sorted(given)}; "
        f"read by {sorted(needed_by)} ({source})"
    )
    for name in COMPOSE["services"]:
        assert secret not in compose_env(name), (
            f"{COMPOSE_FILE}: service '{name}' sets {secret} in its environment; it is the secret '{name_of}'"
        )
    assert not re.search(rf"\$\{{{secret}\b", (REPO / COMPOSE_FILE).read_text()), (
        f"{COMPOSE_FILE} interpolates {secret} (read by {source}) somewhere: use the secret '{name_of}'"
    )
    for path in (ASTERISK_DOCKERFILE, CONTROL_DOCKERFILE):
        baked = [i.args for i in dockerfile(path) if i.keyword in ("ENV", "ARG") and secret in i.args]
        assert baked == [], f"{path} bakes {secret} (read by {source}) into the image: {baked}"


def test_every_declared_secret_has_a_reader() -> None:
    known = {secret_file(s) for s in render_secrets() | settings_secrets()}
    unread = sorted(set(compose_secrets()) - known)
    assert unread == [], f"{COMPOSE_FILE} declares secrets {unread} that nothing reads"


def test_asterisk_entrypoint_refuses_to_start_without_the_rendered_secrets() -> None:
    script = (DOCKER / "asterisk" / "entrypoint.sh").read_text()
    for secret in sorted(render_secrets()):
        assert f'[ -n "${{{secret}:-}}" ] || die' in script, (
            f"docker/asterisk/entrypoint.sh starts without {secret}; {RENDER_FILE} would invent one "
            "the control plane does not know"
        )


@pytest.mark.parametrize(
    ("name", "guard"),
    [
        ("control-plane", {"IVR_ARI_USER", "IVR_ARI_PASSWORD", "IVR_ARI_APP"}),
        ("watchdog", {"IVR_WATCHDOG_AMI_USER", "IVR_WATCHDOG_AMI_PASSWORD", "IVR_ARI_APP"}),
    ],
)
def test_variables_read_by_both_render_and_settings_are_given_alike(name: str, guard: set[str]) -> None:
    source = (REPO / RENDER_FILE).read_text()
    rendered = set(RENDER.DEFAULTS) | set(re.findall(r'^\s*\w+ = os\.environ\.get\("(\w+)"', source, re.M))
    shared = rendered & {settings_env(field) for field in SETTINGS[name].model_fields}
    assert guard <= shared, shared
    asterisk, client = compose_env("asterisk"), compose_env(name)
    different = {
        v: (asterisk.get(v), client.get(v)) for v in sorted(shared) if asterisk.get(v) != client.get(v)
    }
    assert different == {}, (
        f"{COMPOSE_FILE}: asterisk and {name} must get the same value for what both "
        f"{RENDER_FILE} and ivr/settings.py {SETTINGS[name].__name__} read; (asterisk, {name}): {different}"
    )


# Run inside the shell: no process's arguments.
SHELL_BUILTINS = ("printf", "case", "test", "[", "read", "export")
PASSWORD_OPTIONS = {"redis-cli": ("-a", "--pass", "--user"), "curl": ("-u", "--user"), "sipp": ("-ap",)}


def test_redis_requires_the_password_read_on_its_standard_input() -> None:
    argv = redis_server_argv()
    script = container_shell([str(word) for word in service("redis")["command"]]) or ""
    assert argv[1:2] == ["-"], f"{COMPOSE_FILE}: redis-server {argv[1:]} reads no configuration on stdin"
    name_of = secret_file("IVR_REDIS_PASSWORD")
    read = re.search(rf"read -r (\w+) <\s*{SECRETS_MOUNT}/{name_of}\b", script)
    assert read, f"{COMPOSE_FILE}: redis's command does not read the secret {name_of}:\n{script}"
    # A here-document: the shell execs Redis (through the image's entrypoint), which is then
    # the container's first process and gets a stop's SIGTERM (a pipe would leave sh there).
    given = re.search(
        r"^\s*exec\s+(docker-entrypoint\.sh\s+)?redis-server -[^\n]*<<\s*(\w+)\n"
        rf"\s*requirepass \"\${read[1]}\"\n\s*\2\s*$",
        script.replace("\\\n", " "),
        re.MULTILINE,
    )
    assert given, f"{COMPOSE_FILE}: redis does not get requirepass {name_of} on stdin:\n{script}"
    test = " ".join(argument_lists("redis")["healthcheck test"])
    assert re.search(rf"REDISCLI_AUTH=\"?\$\$?\(cat {SECRETS_MOUNT}/{name_of}\)\"? redis-cli ", test), (
        f"{COMPOSE_FILE}: redis-cli in the redis health check gets no REDISCLI_AUTH from {name_of}: {test}"
    )
    assert "PONG" in test, (
        f"{COMPOSE_FILE}: redis's health check {test} does not expect PONG (a NOAUTH reply exits 0 too)"
    )


def secret_variables(script: str | None = None) -> set[str]:
    """The secrets' variables, and those a script fills from a secret file."""
    pattern = rf"read -r (\w+) <\s*{SECRETS_MOUNT}/|(?<![\w$])(\w+)=\"?\$\(cat {SECRETS_MOUNT}/"
    from_files = set(re.findall(pattern, script or ""))
    filled = {name for pair in from_files for name in pair if name}
    return render_secrets() | settings_secrets() | {"REDISCLI_AUTH"} | filled


@pytest.mark.parametrize("name", sorted(COMPOSE["services"]))
def test_no_secret_in_any_command_or_health_check(name: str) -> None:
    for where, words in argument_lists(name).items():
        for secret in sorted(secret_variables()):
            interpolated = re.compile(rf"(?<!\$)\$\{{?{secret}\b")  # compose puts the value in argv
            assert not any(interpolated.search(word) for word in words), (
                f"{COMPOSE_FILE}: {name}'s {where} {words} puts {secret} in a process's arguments"
            )
        script = container_shell(words)
        variables = secret_variables(script)
        commands = simple_commands(script) if script is not None else [words]
        for command in commands:
            # VAR=value before a program sets its environment, not its arguments.
            rest = list(itertools.dropwhile(lambda word: re.match(r"\w+=", word) is not None, command))
            if rest[:1] == ["exec"]:
                rest = rest[1:]
            if not rest:
                continue
            program, arguments = rest[0], " ".join(rest[1:])
            refers = [s for s in variables if re.search(rf"\$\{{?{s}\b", arguments)]
            refers += [SECRETS_MOUNT] if re.search(rf"\$\([^)]*{SECRETS_MOUNT}/", arguments) else []
            assert not refers or program in SHELL_BUILTINS, (
                f"{COMPOSE_FILE}: {name}'s {where} gives {refers} to {program} as arguments: {command}"
            )
            flags = set(PASSWORD_OPTIONS.get(program.rpartition("/")[2], ())) & set(command)
            assert not flags, f"{COMPOSE_FILE}: {name}'s {where} passes a secret with {flags}: {command}"


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
