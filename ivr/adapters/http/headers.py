"""Browser security headers on every response of the control plane's HTTP app.

Rules: every response (API replies, errors, the dashboard's files, the WebSocket
handshake) carries the same headers, set just before it is sent, so no route can forget
them: scripts, styles and connections only from this origin and no inline script
(the dashboard is plain ES modules from /dashboard/), never inside a frame, no MIME
sniffing, and no Referer (a dashboard link may carry a token in its fragment).
"""

from __future__ import annotations

from aiohttp import web

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",  # the page's empty icon is a data: URL
        "connect-src 'self'",  # the API and the live feed (ws: on the same host)
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def _secure(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(SECURITY_HEADERS)


def add_security_headers(app: web.Application) -> None:
    """Every response of `app` gets SECURITY_HEADERS."""
    app.on_response_prepare.append(_secure)
