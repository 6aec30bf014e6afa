"""Checks of single values in the centre configuration that end up in Asterisk's files.

Rules: each check returns the value unchanged or raises ValueError with a sentence an
engineer can act on (what is wrong, what is allowed); nothing is rewritten or stripped.
Addresses are IPv4 (what the trunks and Asterisk's transport use here); a network must be
written as its first address (10.1.2.0/24, not 10.1.2.7/24) so that what is written is
what matches.
"""

from __future__ import annotations

import ipaddress
import re

PHONE = re.compile(r"^PJSIP/[A-Za-z0-9_-]{1,40}$")
THROUGH_TRUNK = re.compile(r"^PJSIP/\+?[0-9]{1,20}@[a-z][a-z0-9_-]{0,30}$")
LOCAL = re.compile(r"^Local/[A-Za-z0-9_*#+-]{1,40}@[A-Za-z0-9_-]{1,40}(/n)?$")
HOST = re.compile(
    r"^(?=.{1,80}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
)
# Line breaks and control characters would start a new line in a generated file or a log;
# the rest would end a quoted caller name or a section name early.
UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f"\\<>;\[\]]')


def label(text: str) -> str:
    """Free text written into a generated file (a comment, a caller name) and into logs."""
    found = UNSAFE.search(text)
    if found:
        shown = repr(found.group())
        raise ValueError(
            f"{shown} is not allowed here: one line of text without control characters or "
            "\" \\ < > ; [ ] (it is written into Asterisk's configuration)"
        )
    if text != text.strip():
        raise ValueError("no spaces at the start or the end")
    return text


def endpoint(text: str) -> str:
    """PJSIP/<phone>, PJSIP/<number>@<trunk id> or Local/<extension>@<context>."""
    if PHONE.match(text) or THROUGH_TRUNK.match(text) or LOCAL.match(text):
        return text
    raise ValueError(
        f"{text!r} is not an endpoint: write PJSIP/<name> (a phone; name of A-Z a-z 0-9 _ -, "
        "at most 40), PJSIP/<number>@<trunk id> (a number through a trunk) or "
        "Local/<extension>@<context>"
    )


def _ipv4(text: str) -> ipaddress.IPv4Network:
    try:
        found = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        reason = str(exc)
        if "has host bits set" in reason:
            network = ipaddress.ip_network(text, strict=False)
            raise ValueError(f"{text!r} has host bits set: write the network as {network}") from None
        raise ValueError(f"{text!r} is not an IPv4 address or network (a.b.c.d or a.b.c.d/nn)") from None
    if not isinstance(found, ipaddress.IPv4Network):
        raise ValueError(f"{text!r} is not IPv4: trunks and phones are matched on IPv4 here")
    return found


def network(text: str) -> str:
    """A source address or network a trunk is identified by."""
    if not re.fullmatch(r"[0-9./]{7,18}", text):
        raise ValueError(f"{text!r} is not an IPv4 address or network (a.b.c.d or a.b.c.d/nn)")
    found = _ipv4(text)
    first = found.network_address
    if (
        first.is_unspecified
        or first.is_multicast
        or found.broadcast_address == ipaddress.IPv4Address("255.255.255.255")
    ):
        raise ValueError(f"{text!r} is not an address an operator's trunk can send from")
    return text


def host_port(text: str) -> str:
    """host:port (or host) where calls are sent: an IPv4 address or a DNS name, port 1-65535."""
    host, colon, port = text.rpartition(":") if ":" in text else (text, "", "")
    if colon and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError(f"{text!r}: the port must be a number from 1 to 65535")
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise ValueError(f"{text!r}: {host!r} is not an IPv4 address") from None
        return text
    if not HOST.match(host):
        raise ValueError(f"{text!r} is not host:port (an IPv4 address or a DNS name, then :port)")
    return text
