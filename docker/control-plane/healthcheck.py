"""Container health check of the control plane: GET /api/health on its own HTTP API.

Rules: exits 0 for an answer whose JSON says `"status": "ok"` or `"degraded"` (callers
are served; the parts that need a person are printed, and restarting would not mend
them), else 1 with the reason on stderr (down, HTTP 503: callers would not reach a call
taker through it; no answer; anything else); asks the address and port the control plane listens on
(IVR_HTTP_BIND / IVR_HTTP_PORT, else the defaults of ivr/settings.py), an any-address
bind being asked on loopback; sends no token (health is the API's one open route);
needs only the standard library and the installed package. With IVR_HTTP_TLS_CERT set the
control plane speaks HTTPS only, so it is asked over https: its certificate must chain to
IVR_HTTP_TLS_CA, or be the very certificate of IVR_HTTP_TLS_CERT (a self-signed one); the
name on it is not compared, as loopback is not the centre's name, but it is verified.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ivr.adapters.http.tls import client_context
from ivr.settings import Settings

HEALTH_PATH = "/api/health"
ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def health_url(env: Mapping[str, str]) -> str:
    """The URL of the health route for the control plane configured by `env`."""
    bind = env.get("IVR_HTTP_BIND", str(Settings.model_fields["http_bind"].default))
    port = env.get("IVR_HTTP_PORT", str(Settings.model_fields["http_port"].default))
    host = ANY_ADDRESS.get(bind, bind)
    if ":" in host:
        host = f"[{host}]"
    scheme = "https" if env.get("IVR_HTTP_TLS_CERT") else "http"
    return f"{scheme}://{host}:{port}{HEALTH_PATH}"


def tls_context(env: Mapping[str, str]) -> ssl.SSLContext | None:
    """How the control plane's certificate is checked, or None for plain HTTP."""
    cert = env.get("IVR_HTTP_TLS_CERT")
    if not cert:
        return None
    context = client_context(Path(env.get("IVR_HTTP_TLS_CA") or cert))
    context.check_hostname = False  # asked on loopback; the chain is still verified
    return context


def not_ok(body: dict[str, Any]) -> str:
    """The parts that are not ok, in words."""
    parts = body.get("parts")
    if not isinstance(parts, dict):
        return ""
    return "; ".join(
        f"{name} {part.get('state')}: {part.get('detail')}"
        for name, part in parts.items()
        if isinstance(part, dict) and part.get("state") in ("degraded", "down")
    )


def main() -> int:
    url = health_url(os.environ)
    try:
        with urllib.request.urlopen(url, timeout=4, context=tls_context(os.environ)) as reply:
            body = json.load(reply)
    except urllib.error.HTTPError as exc:
        try:
            down = json.load(exc)
        except ValueError:
            down = None
        why = not_ok(down) if isinstance(down, dict) else ""
        print(f"unhealthy: {url}: HTTP {exc.code}{': ' + why if why else ''}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if not isinstance(body, dict) or body.get("status") not in ("ok", "degraded"):
        print(f"unhealthy: {url} answered {body!r}", file=sys.stderr)
        return 1
    if body["status"] == "degraded":
        print(f"degraded: {not_ok(body)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
