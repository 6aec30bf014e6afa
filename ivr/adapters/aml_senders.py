"""Who may deliver caller locations (AML) to the centre: the operators' and SMS gateways'
credentials, and the check of a request's Authorization header against them.

The senders file (IVR_AML_SENDERS_FILE, by default secrets/aml_senders in the state
folder, mode 0600): one sender a line, "name secret", '#' starts a comment:
    telkomsel  <a random secret of 16 characters or more>
    sms-gateway  <another one>
A sender authenticates with HTTP Basic (name:secret) or a bearer token (the secret).

Rules:
- Read once at start; a bad file stops the app with every problem named by its line
  (a name that is not [A-Za-z0-9_.-]{1,40}, a line without a secret, a name or secret
  given twice, a weak secret (ivr/secret_rules.py) outside development mode). No file:
  no sender, and every AML delivery is refused (401).
- Secrets are compared in constant time (hmac.compare_digest over their SHA-256), each
  sender's in turn, so the time taken says nothing of which secret nearly matched.
- A file that others than its owner may read is used, with a warning in the log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from ivr.secret_rules import weakness

log = logging.getLogger(__name__)

NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")
MAX_LINE = 400
MAX_SENDERS = 200


class SendersInvalid(Exception):
    pass


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


@dataclass(frozen=True)
class Senders:
    """Each sender's name and the SHA-256 of its secret."""

    digests: dict[str, bytes] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.digests)

    def who(self, authorization: str) -> str | None:
        """The sender an Authorization header proves, or None."""
        scheme, _, credentials = authorization.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return None
            name, colon, secret = decoded.partition(":")
            return name if colon and self._matches(secret) == name else None
        if scheme == "bearer":
            return self._matches(credentials.strip())
        return None

    def _matches(self, secret: str) -> str | None:
        """The sender whose secret this is; every sender compared, none skipped."""
        given = _digest(secret)
        found = None
        for name, digest in self.digests.items():
            if hmac.compare_digest(digest, given):
                found = name
        return found if secret else None


def load_senders(path: Path | None, development: bool = False) -> Senders:
    """The senders of `path` (None or a missing file: none), or SendersInvalid."""
    if path is None or not path.exists():
        return Senders()
    try:
        text = path.read_text()
        mode = path.stat().st_mode
    except (OSError, UnicodeDecodeError) as exc:
        raise SendersInvalid(f"{path}: {exc}") from exc
    if mode & 0o077:
        log.warning("%s can be read by others than its owner: chmod 600 it", path)
    digests: dict[str, bytes] = {}
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        where = f"{path}:{number}"
        if len(line) > MAX_LINE or len(words) != 2:
            problems.append(f"{where}: write one sender a line: name secret")
            continue
        name, secret = words
        if not NAME.fullmatch(name):
            problems.append(f"{where}: the name is not 1 to 40 letters, digits, '.', '_' or '-'")
        elif name in digests:
            problems.append(f"{where}: sender {name} given twice")
        elif _digest(secret) in digests.values():
            problems.append(f"{where}: sender {name} has the same secret as another sender")
        elif not development and (weak := weakness(secret)):
            problems.append(f"{where}: sender {name}: a guessable secret is refused ({weak})")
        else:
            digests[name] = _digest(secret)
    if len(digests) > MAX_SENDERS:
        problems.append(f"{path}: more than {MAX_SENDERS} senders")
    if problems:
        raise SendersInvalid("\n".join(problems))
    return Senders(digests)
