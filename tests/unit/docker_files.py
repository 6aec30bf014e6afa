# What the docker/ tests read: the Dockerfiles' instructions and bases, docker/compose.yaml's
# services, mounts, secrets and environment, asterisk-conf/ values and the defaults that
# scripts/render_conf.py and ivr/settings.py give them.
# Rules: read-only parsing of repository files; no docker, no network.
from __future__ import annotations

import importlib.util
import re
import shlex
import types
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from ivr.settings import Settings

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


def base_images(relative: str) -> list[str]:
    """The image each FROM of a Dockerfile starts from, `${NAME}` resolved with the default of
    an ARG declared before the first FROM (what a build without --build-arg uses)."""
    defaults: dict[str, str] = {}
    found = []
    for i in dockerfile(relative):
        if i.keyword == "ARG" and i.stage < 0:
            name, _, value = i.args.partition("=")
            defaults[name.strip()] = value.strip().strip('"')
        elif i.keyword == "FROM":
            image = i.args.split()[0]
            found.append(re.sub(r"\$\{?(\w+)\}?", lambda m: defaults.get(m[1], m[0]), image))
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


def compose_secrets() -> dict[str, str]:
    """The top-level compose secrets: name -> file, relative to docker/."""
    return {name: str((spec or {}).get("file", "")) for name, spec in (COMPOSE.get("secrets") or {}).items()}


def service_secrets(name: str) -> set[str]:
    """The compose secrets a service is given (mounted at /run/secrets/<name>)."""
    return {
        entry if isinstance(entry, str) else str(entry.get("source"))
        for entry in service(name).get("secrets") or []
    }


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


def container_shell(words: list[str]) -> str | None:
    """The script of a `sh -c SCRIPT` command list, as the container's shell sees it ($$ -> $)."""
    if len(words) >= 3 and words[0] in ("sh", "bash", "/bin/sh") and words[1] == "-c":
        return words[2].replace("$$", "$")
    if len(words) >= 2 and words[0] == "CMD-SHELL":
        return words[1].replace("$$", "$")
    return None


def simple_commands(script: str) -> list[list[str]]:
    """The simple commands of a shell script: split at |, ;, &&, || and newlines; the body
    of a here-document (<<WORD ... WORD) is a command's input, not a command."""
    commands = []
    body_ends: str | None = None
    for line in script.replace("\\\n", " ").splitlines():
        if body_ends is not None:
            body_ends = None if line.strip() == body_ends else body_ends
            continue
        if here := re.search(r"<<-?\s*['\"]?(\w+)", line):
            body_ends, line = here[1], line[: here.start()]
        for part in re.split(r"\|\||&&|[|;]", line):
            words = shlex.split(part, comments=True)
            if words:
                commands.append(words)
    return commands


def redis_server_argv() -> list[str]:
    """The redis service's `redis-server ...` words, whether its command runs it directly or
    through `sh -c`."""
    words = [str(word) for word in service("redis").get("command", [])]
    script = container_shell(words)
    for command in simple_commands(script) if script is not None else [words]:
        if "redis-server" in command:
            return command[command.index("redis-server") :]
    raise AssertionError(f"{COMPOSE_FILE}: the redis service runs no redis-server ({words})")


def argument_lists(name: str) -> dict[str, list[str]]:
    """What becomes a process's arguments in a service: its entrypoint, command, health check."""
    spec = service(name)
    found = {}
    for key, value in (("entrypoint", spec.get("entrypoint")), ("command", spec.get("command")),
                       ("healthcheck test", (spec.get("healthcheck") or {}).get("test"))):  # fmt: skip
        if value is not None:
            found[key] = [str(word) for word in value] if isinstance(value, list) else shlex.split(str(value))
    return found


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
