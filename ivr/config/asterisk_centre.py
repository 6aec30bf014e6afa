"""The centre's SIP endpoints for Asterisk, generated from the centre configuration
(queue/*.yaml): the one list of call takers, overflow desks, agencies and operators' trunks.

Rules:
- Pure: (config, secrets, contacts) -> file texts. Nothing here reads or writes.
- Every call taker and every overflow target that is a plain `PJSIP/<name>` becomes a
  phone (taker-endpoint and taker-aor templates of pjsip.conf) with digest auth
  `<name>-auth`; its password comes from `secrets` (never from the configuration, never
  in git). Every agency endpoint that is a plain `PJSIP/<name>` becomes an agency
  (agency-endpoint, agency-aor; we only call it). Endpoints through a trunk
  (`PJSIP/<number>@carrier`) and Local channels need no section.
- Each operator's trunk becomes a trunk-endpoint with an AOR (its contact, for calls
  out) and an identify section matching only its own source addresses.
- The native fallback queue (takers-fallback in queues.conf) gets one member per call
  taker, in the configuration's order.
- A name used by two different roles is an error naming both; a name Asterisk cannot
  hold (outside [A-Za-z0-9_-]) is an error naming the endpoint.
- `contacts` (test and development profile only) gives a fixed contact address per name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ivr.config.schema import CentreConfig

PJSIP_FILE = "pjsip_centre.conf"
QUEUES_FILE = "queues_centre.conf"
FOLDER = "centre"  # inside Asterisk's etc folder, #include'd by pjsip.conf and queues.conf
_PLAIN = re.compile(r"^PJSIP/([A-Za-z0-9_-]{1,40})$")


class CentreEndpointsInvalid(ValueError):
    pass


@dataclass(frozen=True)
class Phone:
    name: str
    display: str
    role: str  # "taker" or "overflow"


def _plain(endpoint: str) -> str | None:
    if endpoint.startswith("PJSIP/") and "@" not in endpoint:
        found = _PLAIN.match(endpoint)
        if found is None:
            raise CentreEndpointsInvalid(f"endpoint {endpoint!r}: a SIP name may hold only A-Z a-z 0-9 _ -")
        return found.group(1)
    return None


def phones(config: CentreConfig) -> list[Phone]:
    """Call takers then overflow desks that register with Asterisk."""
    found = [Phone(n, a.name, "taker") for a in config.agents if (n := _plain(a.endpoint))]
    found += [
        Phone(n, t.description or key, "overflow")
        for key, t in config.overflow_targets.items()
        if (n := _plain(t.endpoint)) and n not in {p.name for p in found}
    ]
    return found


def agencies(config: CentreConfig) -> list[str]:
    names: list[str] = []
    for agency in config.agencies:
        for endpoint in agency.endpoints:
            if (name := _plain(endpoint)) and name not in names:
                names.append(name)
    return names


def secret_names(config: CentreConfig) -> list[str]:
    """The phones that need a SIP password (each kept as secrets/sip_<name>)."""
    return [p.name for p in phones(config)]


def _quoted(text: str) -> str:
    return re.sub(r'["\\\r\n<>;]', "", text)[:60]


def render(
    config: CentreConfig, secrets: Mapping[str, str], contacts: Mapping[str, str] | None = None
) -> dict[str, str]:
    """File name -> text, for the FOLDER inside Asterisk's etc folder."""
    desks, called = phones(config), agencies(config)
    clash = sorted({p.name for p in desks} & set(called))
    if clash:
        raise CentreEndpointsInvalid(
            f"PJSIP/{clash[0]} is both a phone (call taker or overflow) and an agency"
        )
    trunk_clash = sorted({t.id for t in config.trunks} & ({p.name for p in desks} | set(called)))
    if trunk_clash:
        raise CentreEndpointsInvalid(f"'{trunk_clash[0]}' is both a trunk and a phone or agency")
    missing = [p.name for p in desks if not secrets.get(p.name)]
    if missing:
        raise CentreEndpointsInvalid(f"no SIP password for {', '.join(missing)}")
    contacts = contacts or {}

    def contact(name: str) -> str:
        return f"contact = sip:{name}@{contacts[name]}\n" if name in contacts else ""

    out = [
        f"; Generated from the centre configuration ({config.centre}) by `python -m ivr config apply`.\n"
        "; Do not edit: change queue/*.yaml and apply it. Holds SIP passwords: never commit.\n"
    ]
    for p in desks:
        out.append(
            f"\n; {p.role}: {_quoted(p.display)}\n[{p.name}](taker-endpoint)\nauth = {p.name}-auth\n"
            f'aors = {p.name}\ncallerid = "{_quoted(p.display)}" <{p.name}>\n\n'
            f"[{p.name}](taker-aor)\n{contact(p.name)}\n"
            f"[{p.name}-auth]\ntype = auth\nauth_type = digest\nusername = {p.name}\n"
            f"password = {secrets[p.name]}\n"
        )
    for name in called:
        out.append(
            f"\n; agency\n[{name}](agency-endpoint)\naors = {name}\n\n[{name}](agency-aor)\n{contact(name)}"
        )
    for trunk in config.trunks:
        aor = f"contact = sip:{trunk.contact}\n" if trunk.contact else ""
        out.append(
            f"\n; trunk: {_quoted(trunk.name)}\n[{trunk.id}](trunk-endpoint)\naors = {trunk.id}\n\n"
            f"[{trunk.id}]\ntype = aor\n{aor}\n"
            f"[{trunk.id}-identify]\ntype = identify\nendpoint = {trunk.id}\n"
            f"match = {','.join(trunk.match)}\n"
        )
    members = [
        f"member => PJSIP/{p.name},0,{p.name}\n" for p in desks if p.role == "taker"
    ]  # the native fallback: every call taker
    queue = "; Generated with pjsip_centre.conf: the members of takers-fallback.\n" + "".join(members)
    return {PJSIP_FILE: "".join(out), QUEUES_FILE: queue}


def loopback_contacts(config: CentreConfig) -> dict[str, str]:
    """The test and development profile: call taker NN on 127.0.0.(10+NN), overflow desks
    from 127.0.0.40, agencies from 127.0.0.31, each on port 5060."""
    found: dict[str, str] = {}
    overflow = 40
    for p in phones(config):
        if p.role == "taker" and p.name[-2:].isdigit() and 1 <= int(p.name[-2:]) <= 20:
            found[p.name] = f"127.0.0.{10 + int(p.name[-2:])}:5060"
        elif p.role == "overflow":
            found[p.name] = f"127.0.0.{overflow}:5060"
            overflow += 1
    for index, name in enumerate(agencies(config)):
        found[name] = f"127.0.0.{31 + index}:5060"
    return found
