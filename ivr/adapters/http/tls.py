"""TLS contexts of the control plane's HTTP API and dashboard, and of the clients that ask
it (the watchdog's health check, the container health check).

Rules: TLS 1.2 at least, both ways. The server's certificate chain and key are PEM files
(IVR_HTTP_TLS_CERT, IVR_HTTP_TLS_KEY: the chain with the server's certificate first) read
once at start; a file that cannot be read, is not PEM, or a key that is not the
certificate's is refused with TlsFileInvalid saying which file and why. Clients verify the
server against IVR_HTTP_TLS_CA when it is given (the centre's own CA, or the server's very
certificate, self-signed or not), else against the system's trusted CAs; they never skip
verification, and the name asked must be on the certificate (the container's loopback
health check alone compares no name).
"""

from __future__ import annotations

import ssl
from pathlib import Path


class TlsFileInvalid(ValueError):
    """A certificate, key or CA file cannot serve; the message names the file."""


def readable(path: Path) -> Path:
    """`path` when it is a file this process can read, else TlsFileInvalid."""
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise TlsFileInvalid(f"cannot read '{path}': {exc.strerror or exc}") from None
    return path


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """The server side: the certificate chain `cert` with its private key `key`."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(readable(cert), readable(key))
    except ssl.SSLError as exc:
        raise TlsFileInvalid(
            f"the key '{key}' and the certificate '{cert}' do not make a pair, or one is not PEM "
            f"({exc.reason or exc})"
        ) from None
    return context


def client_context(ca: Path | None) -> ssl.SSLContext:
    """The client side: verify the server against `ca` (PEM), or the system's CAs when None."""
    try:
        context = ssl.create_default_context(cafile=None if ca is None else readable(ca))
    except ssl.SSLError as exc:
        raise TlsFileInvalid(f"'{ca}' holds no PEM certificate ({exc.reason or exc})") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # a server certificate given as `ca` is trusted
    return context
