"""Error replies of the HTTP API: a status and a message naming what was wrong."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError


def error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def problems(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()]
