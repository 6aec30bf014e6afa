# Settings from IVR_* environment variables (ivr.settings.load_settings): a missing or
# bad value stops the start with a message naming the variable, secrets are never echoed,
# ranges are enforced, the default centre configuration is the shipped one with its 20
# call takers; and `python -m ivr run` with a bad setting exits 2 with that message and
# no Python traceback.
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.config.loader import load
from ivr.settings import Settings, SettingsError, StoreSettings, load_settings

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "not-a-real-secret-42"
TOKEN = "not-a-real-api-token-0123"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Only what each test sets: no IVR_* variable leaks in from the shell."""
    for name in list(os.environ):
        if name.startswith("IVR_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("IVR_ARI_PASSWORD", PASSWORD)
    monkeypatch.setenv("IVR_API_TOKEN", TOKEN)
    return monkeypatch


def error_of(monkeypatch: pytest.MonkeyPatch, **env: str | None) -> str:
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    return str(caught.value)


def test_defaults_point_at_the_shipped_centre_with_twenty_takers() -> None:
    settings: Settings = load_settings()
    assert settings.ari_password.get_secret_value() == PASSWORD
    assert settings.api_token.get_secret_value() == TOKEN
    assert (settings.ari_url, settings.ari_app, settings.http_bind) == (
        "http://127.0.0.1:8088",
        "ivr112",
        "127.0.0.1",  # the API is not exposed beyond the host unless asked
    )
    centre = load(REPO / settings.centre_config)
    assert [a.id for a in centre.takers] == [f"taker{n:02d}" for n in range(1, 21)]
    assert [a.endpoint for a in centre.takers] == [f"PJSIP/taker{n:02d}" for n in range(1, 21)]


def test_short_ari_password_is_named_but_never_echoed(clean_env: pytest.MonkeyPatch) -> None:
    message = error_of(clean_env, IVR_ARI_PASSWORD="hunter2")
    assert "IVR_ARI_PASSWORD" in message
    assert "hunter2" not in message


@pytest.mark.parametrize("name", ["IVR_ARI_PASSWORD", "IVR_API_TOKEN"])
def test_each_missing_secret_is_named(clean_env: pytest.MonkeyPatch, name: str) -> None:
    message = error_of(clean_env, **{name: None})
    assert name in message
    assert message.count("IVR_") == 1  # only the missing one is blamed


def test_short_api_token_is_named_but_never_echoed(clean_env: pytest.MonkeyPatch) -> None:
    message = error_of(clean_env, IVR_API_TOKEN="short-token")
    assert "IVR_API_TOKEN" in message
    assert "short-token" not in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("IVR_HTTP_PORT", "abc"),
        ("IVR_HTTP_PORT", "70000"),
        ("IVR_HTTP_PORT", "0"),
        ("IVR_GREETING_GUARD_SECONDS", "abc"),
        ("IVR_GREETING_GUARD_SECONDS", "500"),
        ("IVR_GREETING_GUARD_SECONDS", "1"),
        ("IVR_RECORD_RETENTION_DAYS", "0"),
        ("IVR_ARI_URL", "ftp://127.0.0.1"),
        ("IVR_ARI_URL", "http://host/ari"),  # the base address only
        ("IVR_REDIS_URL", "http://127.0.0.1:6380"),
        ("IVR_GREETING_MEDIA", "greeting.wav"),
        ("IVR_LOG_LEVEL", "chatty"),
        ("IVR_TIMEZONE", "Mars/Base"),
    ],
)
def test_bad_value_is_named(clean_env: pytest.MonkeyPatch, name: str, value: str) -> None:
    message = error_of(clean_env, **{name: value})
    assert name in message
    assert message.count("IVR_") == 1  # only the bad variable is blamed


@pytest.mark.parametrize(
    ("name", "value", "attribute", "expected"),
    [
        ("IVR_HTTP_PORT", "8112", "http_port", 8112),
        ("IVR_HTTP_PORT", "65535", "http_port", 65535),
        ("IVR_GREETING_GUARD_SECONDS", "5", "greeting_guard_seconds", 5.0),
        ("IVR_GREETING_GUARD_SECONDS", "120", "greeting_guard_seconds", 120.0),
        ("IVR_CENTRE_CONFIG", "/etc/ivr/centre.yaml", "centre_config", Path("/etc/ivr/centre.yaml")),
    ],
)
def test_value_in_range_is_taken(
    clean_env: pytest.MonkeyPatch, name: str, value: str, attribute: str, expected: object
) -> None:
    clean_env.setenv(name, value)
    assert getattr(load_settings(), attribute) == expected


def test_every_bad_variable_is_named_at_once(clean_env: pytest.MonkeyPatch) -> None:
    message = error_of(clean_env, IVR_ARI_PASSWORD=None, IVR_HTTP_PORT="abc", IVR_TIMEZONE="Mars/Base")
    for name in ("IVR_ARI_PASSWORD", "IVR_HTTP_PORT", "IVR_TIMEZONE"):
        assert name in message


def test_store_settings_need_no_ari_password(clean_env: pytest.MonkeyPatch) -> None:
    """`python -m ivr timeline` reads records without the ARI secret or the API token."""
    clean_env.delenv("IVR_ARI_PASSWORD")
    clean_env.delenv("IVR_API_TOKEN")
    assert load_settings(StoreSettings).redis_url.startswith("redis://")
    with pytest.raises(SettingsError):
        load_settings(Settings)


def test_run_without_password_exits_2_naming_it_without_traceback() -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("IVR_")}
    env["IVR_API_TOKEN"] = TOKEN
    # Should the check ever vanish, point the app at a port where nothing answers.
    env["IVR_ARI_URL"] = "http://127.0.0.1:9"
    env["IVR_REDIS_URL"] = "redis://127.0.0.1:9/0"
    done = subprocess.run(
        [sys.executable, "-m", "ivr", "run"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "IVR_ARI_PASSWORD" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("variable", "value"),
    [("IVR_ARI_PASSWORD", "short-secret"), ("IVR_AMI_PASSWORD", "passwordpassword"),
     ("IVR_API_TOKEN", "aaaaaaaaaaaaaaaaaaaa"), ("IVR_AMI_PASSWORD", "ivr112-ivr112")],
)  # fmt: skip
def test_default_or_guessable_secrets_are_refused_outside_development_mode(
    clean_env: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    message = error_of(clean_env, **{variable: value})
    assert variable in message and "outside development mode" in message
    assert value not in message
    clean_env.setenv("IVR_DEVELOPMENT", "true")  # a developer's machine may use them
    if variable != "IVR_ARI_PASSWORD" or len(value) >= 8:
        assert load_settings().development is True


@pytest.mark.parametrize(
    ("variable", "value"),
    [("IVR_API_TOKEN", "Password12345678"), ("IVR_ARI_PASSWORD", "qwertyuiop123456"),
     ("IVR_AMI_PASSWORD", "Kendari112Kendari112"), ("IVR_REDIS_PASSWORD", "asterisk-ivr112-2025"),
     ("IVR_REDIS_PASSWORD", "abcdefghijklmnopqr")],
)  # fmt: skip
def test_dictionary_style_secrets_are_refused_with_a_reason(
    clean_env: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    message = error_of(clean_env, **{variable: value})
    assert variable in message and "outside development mode" in message and "predictable" in message
    assert value not in message and message.count("IVR_") == 2  # the variable and IVR_DEVELOPMENT
    clean_env.setenv("IVR_DEVELOPMENT", "true")
    assert load_settings().development is True


def test_random_secrets_pass_and_the_redis_password_reaches_the_client(clean_env: pytest.MonkeyPatch) -> None:
    for name in ("IVR_ARI_PASSWORD", "IVR_API_TOKEN", "IVR_AMI_PASSWORD", "IVR_REDIS_PASSWORD"):
        clean_env.setenv(name, secrets.token_urlsafe(18))
    settings = load_settings()
    assert settings.redis_secret == os.environ["IVR_REDIS_PASSWORD"]
    assert os.environ["IVR_REDIS_PASSWORD"] not in repr(settings)  # never shown
    clean_env.delenv("IVR_REDIS_PASSWORD")
    assert load_settings(StoreSettings).redis_secret is None  # no password: Redis without AUTH
    clean_env.setenv("IVR_REDIS_PASSWORD", "x" * 10)  # the timeline tool does not judge strength
    assert load_settings(StoreSettings).redis_secret == "x" * 10


def test_a_password_in_the_redis_url_is_refused_unechoed(clean_env: pytest.MonkeyPatch) -> None:
    message = error_of(clean_env, IVR_REDIS_URL="redis://:Vq8LmZ2rT4pXw9Kd@127.0.0.1:6380/0")
    assert "IVR_REDIS_URL" in message and "IVR_REDIS_PASSWORD" in message
    assert "Vq8LmZ2rT4pXw9Kd" not in message
