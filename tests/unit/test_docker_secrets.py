# The containers' secrets: every one is a compose secret (a file of docker/secrets/) that
# docker/README.md's table of secrets lists with the services given it; the README states
# ivr/secret_rules.py's MIN_LENGTH once, and neither it nor docker/compose.yaml states any
# other minimum; the variables the README calls required are those compose requires; a
# secret of that length, as a variable or as a file of /run/secrets, starts the services
# that read it and one character less stops them; Asterisk's entrypoint reads its secret
# files; no container runs in development mode (which would accept shorter secrets).
# Rules: no docker, no network; the minimum comes from ivr/secret_rules.py, never written
# here; each failure names the file and what it found there.
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import ivr.settings
from ivr.config import asterisk_centre
from ivr.secret_rules import MIN_LENGTH, weakness
from ivr.settings import SettingsError, StoreSettings, load_settings
from tests.unit.docker_files import (
    COMPOSE,
    COMPOSE_FILE,
    CONTROL_DOCKERFILE,
    ENTRYPOINT,
    REPO,
    VARIABLE,
    compose_env,
    compose_secrets,
    service_secrets,
)
from tests.unit.test_docker_centre import asterisk_etc, run_entrypoint
from tests.unit.test_docker_wiring import SETTINGS, render_secrets, secret_file, settings_secrets

README_FILE = "docker/README.md"
# How the docker files state a minimum length: "≥ 16 characters", "16 characters or more".
STATED_MINIMUM = re.compile(
    r"≥\s*(\d+)\s+characters|(\d+)\s+characters\s+or\s+more|at least (\d+) characters"
)
# Random-looking, so that its first MIN_LENGTH characters are weak for their length only.
STRONG = "hV3x-Qm8k_Tz2pRw7Lc4Ny9Bd6Fs1Gj5eXo0aUi"


def stated_minimums(text: str) -> list[int]:
    return [int(next(group for group in match.groups() if group)) for match in STATED_MINIMUM.finditer(text)]


def required_messages() -> dict[str, set[str]]:
    """Each variable compose refuses to start without (${NAME:?message}), with its messages."""
    found: dict[str, set[str]] = {}
    for name in COMPOSE["services"]:
        for written in compose_env(name).values():
            for variable, operator, message in VARIABLE.findall(written or ""):
                if operator in (":?", "?"):
                    found.setdefault(variable, set()).add(message)
    return found


def section(title: str) -> str:
    text = (REPO / README_FILE).read_text()
    return text.partition(f"\n## {title}\n")[2].partition("\n## ")[0]


def readme_table(title: str, columns: int) -> dict[str, tuple[str, ...]]:
    """The rows of a README table under ## title: each `name` of the first cell -> the other cells."""
    rows: dict[str, tuple[str, ...]] = {}
    for line in section(title).splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == columns and "`" in cells[0]:
            rows.update(dict.fromkeys(re.findall(r"`(\w+)`", cells[0]), tuple(cells[1:])))
    return rows


def test_the_secrets_compose_declares_are_found() -> None:
    # Guards the checks below: a renamed secret or table must not make them vacuous.
    wanted = {
        "ivr_ari_password",
        "ivr_ami_password",
        "ivr_api_token",
        "ivr_redis_password",
        "ivr_watchdog_ami_password",
    }
    assert wanted <= set(compose_secrets()), COMPOSE_FILE
    assert readme_table("Secrets", 3), f"{README_FILE} has no table of secrets under ## Secrets"
    assert readme_table("Variables", 3), f"{README_FILE} has no table of variables under ## Variables"


@pytest.mark.parametrize("secret", sorted(compose_secrets()))
def test_readme_lists_every_secret_with_the_services_given_it(secret: str) -> None:
    rows = readme_table("Secrets", 3)
    assert secret in rows, f"{COMPOSE_FILE} declares the secret {secret}; {README_FILE}'s table lacks it"
    listed = {name.strip() for name in rows[secret][0].split(",")}
    given = {name for name in COMPOSE["services"] if secret in service_secrets(name)}
    assert listed == given, (
        f"{README_FILE}: {secret} is given to {sorted(listed)}; {COMPOSE_FILE} gives it to {sorted(given)}"
    )


def test_readme_states_the_enforced_length_once() -> None:
    stated = stated_minimums(section("Secrets"))
    assert stated == [MIN_LENGTH], (
        f"{README_FILE}'s ## Secrets states the minimum lengths {stated}; the control plane refuses a "
        f"secret shorter than {MIN_LENGTH} (ivr/secret_rules.py): say '{MIN_LENGTH} characters or more' once"
    )


def test_readme_calls_required_exactly_the_variables_compose_requires() -> None:
    required = {name for name, cells in readme_table("Variables", 3).items() if cells[0] == "yes"}
    assert required == set(required_messages()), (
        f"{README_FILE} calls {sorted(required)} required; {COMPOSE_FILE} requires "
        f"{sorted(required_messages())} (${{NAME:?message}})"
    )


@pytest.mark.parametrize("relative", [COMPOSE_FILE, README_FILE])
def test_no_other_minimum_length_is_stated(relative: str) -> None:
    # Comments and prose too: any minimum written in the docker files is a secret's.
    stated = set(stated_minimums((REPO / relative).read_text()))
    assert stated <= {MIN_LENGTH}, (
        f"{relative} states minimum lengths {sorted(stated)}; ivr/secret_rules.py's is {MIN_LENGTH}"
    )


@pytest.mark.parametrize(
    ("service", "secret"),
    [(name, secret) for name, model in SETTINGS.items() for secret in sorted(settings_secrets(model))],
)
def test_a_secret_of_the_stated_length_starts_and_a_shorter_one_stops(
    monkeypatch: pytest.MonkeyPatch, service: str, secret: str
) -> None:
    model: type[StoreSettings] = SETTINGS[service]
    assert weakness(STRONG[:MIN_LENGTH]) is None and len(STRONG) > MIN_LENGTH, "STRONG is too short or weak"
    for name in [name for name in os.environ if name.startswith("IVR_")]:
        monkeypatch.delenv(name)
    for name in settings_secrets(model):
        monkeypatch.setenv(name, STRONG[:MIN_LENGTH])
    load_settings(model)  # the stated length is enough
    monkeypatch.setenv(secret, STRONG[: MIN_LENGTH - 1])
    with pytest.raises(SettingsError, match=secret):
        load_settings(model)


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_no_container_runs_in_development_mode(service: str) -> None:
    # Development mode accepts short secrets: the containers' minimum would not be the one documented.
    dockerfile_text = (REPO / CONTROL_DOCKERFILE).read_text()
    assert "IVR_DEVELOPMENT" not in compose_env(service), f"{COMPOSE_FILE}: {service} passes IVR_DEVELOPMENT"
    assert "IVR_DEVELOPMENT" not in dockerfile_text, f"{CONTROL_DOCKERFILE} sets IVR_DEVELOPMENT"


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_the_secret_files_compose_mounts_start_the_service(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, service: str
) -> None:
    model: type[StoreSettings] = SETTINGS[service]
    for name in [name for name in os.environ if name.startswith("IVR_")]:
        monkeypatch.delenv(name)
    monkeypatch.setattr(ivr.settings, "SECRETS_DIR", tmp_path)
    given = service_secrets(service)
    for secret in given:
        (tmp_path / secret).write_text(STRONG[:MIN_LENGTH] + "\n")  # an editor's newline
    loaded = load_settings(model)  # only what compose mounts into the service
    for variable in sorted(settings_secrets(model)):
        if secret_file(variable) in given:
            value = getattr(loaded, variable.removeprefix("IVR_").lower())
            assert value is not None and value.get_secret_value() == STRONG[:MIN_LENGTH], (
                f"ivr/settings.py does not read {variable} from the secret file {secret_file(variable)}"
            )
    shortened = sorted(secret_file(v) for v in settings_secrets(model) if secret_file(v) in given)
    assert shortened, f"{COMPOSE_FILE} gives {service} none of the secrets it reads"
    (tmp_path / shortened[0]).write_text(STRONG[: MIN_LENGTH - 1])
    with pytest.raises(SettingsError, match=shortened[0].upper()):
        load_settings(model)
    monkeypatch.setenv(shortened[0].upper(), STRONG[1 : MIN_LENGTH + 1])  # the environment wins
    assert load_settings(model) is not None


def test_asterisk_entrypoint_reads_its_secret_files(tmp_path: Path) -> None:
    script = (REPO / ENTRYPOINT).read_text()
    listed = re.search(r"^secret_names=\(([^)]*)\)", script, re.M)
    assert listed and set(listed[1].split()) == render_secrets(), (
        f"{ENTRYPOINT} reads the secret files {listed and listed[1]}; "
        f"scripts/render_conf.py renders {sorted(render_secrets())}"
    )
    assert set(map(secret_file, render_secrets())) == service_secrets("asterisk"), (
        f"{COMPOSE_FILE} gives asterisk {sorted(service_secrets('asterisk'))}"
    )
    centre = tmp_path / str(asterisk_etc()).lstrip("/") / asterisk_centre.FOLDER
    centre.mkdir(parents=True)
    for name in (asterisk_centre.PJSIP_FILE, asterisk_centre.QUEUES_FILE):
        (centre / name).write_text("; generated\n")
    secrets = tmp_path / "run-secrets"
    secrets.mkdir()
    for variable in render_secrets():
        (secrets / secret_file(variable)).write_text(f"{variable.lower()}-from-file\n")
    env = {"IVR_SECRETS_DIR": str(secrets), "IVR_STATE_DIR": str(tmp_path / "state")}
    done = run_entrypoint(tmp_path, env)
    assert done.returncode == 0, f"{ENTRYPOINT} does not start on secret files alone: {done.stderr}"
    managers = (centre.parent / "manager_users.conf").read_text()
    assert "secret = ivr_watchdog_ami_password-from-file\n" in managers, (
        f"{ENTRYPOINT}: the watchdog's AMI user does not get the file's secret:\n{managers}"
    )
    (secrets / secret_file("IVR_AMI_PASSWORD")).unlink()
    done = run_entrypoint(tmp_path, env)
    assert done.returncode != 0 and "IVR_AMI_PASSWORD" in done.stderr, (
        f"{ENTRYPOINT} starts without the AMI secret file: {done.stderr}"
    )
