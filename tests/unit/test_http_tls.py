"""HTTPS for the API and dashboard (IVR_HTTP_TLS_CERT, IVR_HTTP_TLS_KEY): the control plane
answers over TLS with the centre's certificate and not over plain HTTP; a certificate or
key that cannot serve stops the start naming the variable and the file (exit 2, no
traceback); the watchdog and the container health check reach an https control plane
when they trust its certificate (IVR_HTTP_TLS_CA), and the watchdog does not when it does
not."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from ivr.adapters.http.tls import client_context, server_context
from ivr.settings import Settings, SettingsError, WatchdogSettings, load_settings
from ivr.watchdog import HealthCheck, health_session
from tests.unit.docker_files import HEALTHCHECK
from tests.unit.http_app import api

REPO = Path(__file__).resolve().parents[2]
SECRETS = {"IVR_ARI_PASSWORD": "tls-unit-ari-Xq83vLm2", "IVR_API_TOKEN": "tls-unit-token-Hw72pQz9Ke"}


@dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path


def self_signed(folder: Path, name: str) -> Pair:
    """A self-signed certificate for 127.0.0.1 and its key, as an operator would make one."""
    pair = Pair(folder / f"{name}.crt", folder / f"{name}.key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", f"/CN={name}", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(pair.key), "-out", str(pair.cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return pair


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Pair, Pair]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    return self_signed(folder, "centre"), self_signed(folder, "other")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("IVR_"):
            monkeypatch.delenv(name)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


@asynccontextmanager
async def https_api(pair: Pair, env: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """The control plane's API served as the settings say; yields its health URL."""
    env.setenv("IVR_HTTP_TLS_CERT", str(pair.cert))
    env.setenv("IVR_HTTP_TLS_KEY", str(pair.key))
    settings: Settings = load_settings()
    assert settings.http_tls_cert is not None and settings.http_tls_key is not None
    async with api(tls=server_context(settings.http_tls_cert, settings.http_tls_key)) as app:
        yield str(app.client.make_url("/api/health"))


async def test_the_api_answers_over_https_and_not_over_plain_http(
    pairs: tuple[Pair, Pair], env: pytest.MonkeyPatch
) -> None:
    centre, _ = pairs
    async with https_api(centre, env) as url:
        assert url.startswith("https://")
        trusting = aiohttp.TCPConnector(ssl=client_context(centre.cert))
        async with aiohttp.ClientSession(connector=trusting) as session, session.get(url) as response:
            assert response.status == 200
            assert (await response.json())["status"] == "ok"
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientError):
                async with session.get(url.replace("https://", "http://", 1)) as response:
                    await response.read()


async def test_the_watchdog_checks_https_health_against_the_ca_setting(
    pairs: tuple[Pair, Pair], env: pytest.MonkeyPatch
) -> None:
    centre, other = pairs
    env.setenv("IVR_WATCHDOG_AMI_PASSWORD", "tls-unit-watchdog-Rk48sNv1")
    async with https_api(centre, env) as url:
        env.setenv("IVR_WATCHDOG_HEALTH_URL", url)
        env.setenv("IVR_HTTP_TLS_CA", str(centre.cert))
        async with health_session(load_settings(WatchdogSettings)) as session:
            assert await HealthCheck(session, url).check() == (True, "answering")
        env.setenv("IVR_HTTP_TLS_CA", str(other.cert))  # trusts another certificate only
        async with health_session(load_settings(WatchdogSettings)) as session:
            healthy, why = await HealthCheck(session, url).check()
        assert not healthy and "Certificate" in why


async def test_the_container_health_check_asks_over_https(
    pairs: tuple[Pair, Pair], env: pytest.MonkeyPatch
) -> None:
    centre, _ = pairs
    async with https_api(centre, env) as url:
        env.setenv("IVR_HTTP_BIND", "127.0.0.1")
        env.setenv("IVR_HTTP_PORT", url.rsplit(":", 1)[1].split("/", 1)[0])
        assert HEALTHCHECK.health_url(os.environ) == url
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = await asyncio.to_thread(HEALTHCHECK.main)
        assert code == 0, err.getvalue()


def refusal(env: pytest.MonkeyPatch, **variables: str) -> str:
    for name, value in variables.items():
        env.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    return str(caught.value)


def test_a_missing_certificate_is_refused_naming_the_variable_and_file(
    pairs: tuple[Pair, Pair], env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    gone = tmp_path / "nowhere.crt"
    says = refusal(env, IVR_HTTP_TLS_CERT=str(gone), IVR_HTTP_TLS_KEY=str(pairs[0].key))
    assert "IVR_HTTP_TLS_CERT" in says and str(gone) in says


def test_a_key_of_another_certificate_is_refused_naming_both_files(
    pairs: tuple[Pair, Pair], env: pytest.MonkeyPatch
) -> None:
    centre, other = pairs
    says = refusal(env, IVR_HTTP_TLS_CERT=str(centre.cert), IVR_HTTP_TLS_KEY=str(other.key))
    assert "IVR_HTTP_TLS_KEY" in says and str(other.key) in says and str(centre.cert) in says


def test_a_certificate_without_its_key_is_refused(pairs: tuple[Pair, Pair], env: pytest.MonkeyPatch) -> None:
    says = refusal(env, IVR_HTTP_TLS_CERT=str(pairs[0].cert))
    assert "IVR_HTTP_TLS_KEY" in says and "both or neither" in says


def test_run_with_a_bad_certificate_exits_2_naming_it(pairs: tuple[Pair, Pair], tmp_path: Path) -> None:
    not_pem = tmp_path / "centre.crt"
    not_pem.write_text("not a certificate\n")
    child = {name: value for name, value in os.environ.items() if not name.startswith("IVR_")}
    child |= SECRETS | {"IVR_HTTP_TLS_CERT": str(not_pem), "IVR_HTTP_TLS_KEY": str(pairs[0].key)}
    child |= {"IVR_ARI_URL": "http://127.0.0.1:9", "IVR_REDIS_URL": "redis://127.0.0.1:9/0"}
    done = subprocess.run(
        [sys.executable, "-m", "ivr", "run"], cwd=REPO, env=child, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert "IVR_HTTP_TLS_KEY" in done.stderr and str(not_pem) in done.stderr
    assert "Traceback" not in done.stderr
