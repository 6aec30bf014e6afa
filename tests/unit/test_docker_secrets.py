# The containers' secrets are documented with the length the control plane enforces: every
# `${SECRET:?message}` of docker/compose.yaml and the row of every secret in docker/README.md's
# table of variables state ivr/secret_rules.py's MIN_LENGTH, neither file states any other
# minimum, every variable compose requires has a row in that table, a secret of that length
# starts the services that read it and one character less stops them, and no container runs
# in development mode (which would accept shorter secrets).
# Rules: no docker, no network; the minimum comes from ivr/secret_rules.py, never written
# here; each failure names the file and what it found there.
from __future__ import annotations

import os
import re

import pytest

from ivr.secret_rules import MIN_LENGTH, weakness
from ivr.settings import SettingsError, StoreSettings, load_settings
from tests.unit.docker_files import COMPOSE, COMPOSE_FILE, CONTROL_DOCKERFILE, REPO, VARIABLE, compose_env
from tests.unit.test_docker_wiring import SETTINGS, render_secrets, settings_secrets

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


def required_secrets() -> list[str]:
    return sorted(set(required_messages()) & (render_secrets() | settings_secrets()))


def readme_variables() -> dict[str, tuple[str, str]]:
    """The rows of the README's table of variables: each variable -> (required, what)."""
    section = (REPO / README_FILE).read_text().partition("\n## Variables\n")[2].partition("\n## ")[0]
    rows: dict[str, tuple[str, str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 3 and "`" in cells[0]:
            rows.update(dict.fromkeys(re.findall(r"`(\w+)`", cells[0]), (cells[1], cells[2])))
    return rows


def test_the_secrets_compose_requires_are_found() -> None:
    # Guards the checks below: a renamed variable or table must not make them vacuous.
    wanted = {
        "IVR_ARI_PASSWORD",
        "IVR_AMI_PASSWORD",
        "IVR_API_TOKEN",
        "IVR_REDIS_PASSWORD",
        "IVR_WATCHDOG_AMI_PASSWORD",
    }
    assert wanted <= set(required_secrets()), COMPOSE_FILE
    assert readme_variables(), f"{README_FILE} has no table of variables under ## Variables"


@pytest.mark.parametrize("secret", required_secrets())
def test_compose_asks_for_the_enforced_length(secret: str) -> None:
    for message in sorted(required_messages()[secret]):
        assert stated_minimums(message) == [MIN_LENGTH], (
            f"{COMPOSE_FILE}: ${{{secret}:?{message}}} states {stated_minimums(message) or 'no'} minimum "
            f"length; the control plane refuses a secret shorter than {MIN_LENGTH} (ivr/secret_rules.py), "
            f"say '({MIN_LENGTH} characters or more)'"
        )


@pytest.mark.parametrize("variable", sorted(required_messages()))
def test_readme_table_has_every_variable_compose_requires(variable: str) -> None:
    rows = readme_variables()
    assert variable in rows, (
        f"{COMPOSE_FILE} requires {variable}; {README_FILE}'s table of variables lacks it"
    )
    assert rows[variable][0] == "yes", (
        f"{README_FILE}: {variable} is required by {COMPOSE_FILE}, not '{rows[variable][0]}'"
    )


@pytest.mark.parametrize("secret", required_secrets())
def test_readme_table_states_the_enforced_length(secret: str) -> None:
    what = readme_variables().get(secret, ("", ""))[1]
    assert stated_minimums(what) == [MIN_LENGTH], (
        f"{README_FILE}: the row of {secret} states {stated_minimums(what) or 'no'} minimum length; the "
        f"control plane refuses a secret shorter than {MIN_LENGTH} (ivr/secret_rules.py), "
        f"say '≥ {MIN_LENGTH} characters'"
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
