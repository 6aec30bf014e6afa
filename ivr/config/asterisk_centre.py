"""The centre's SIP endpoints for Asterisk, generated from the centre configuration
(queue/*.yaml): the one list of call takers, overflow desks, agencies and operators' trunks.

Rules:
- Pure: (config, secrets, contacts) -> file texts. Nothing here reads or writes.
- Who may register, and how each endpoint is recognised (the SIP doors):
  - Every call taker and overflow desk that is a plain `PJSIP/<name>` becomes a phone
    (taker-endpoint, taker-aor) recognised only by its digest credentials
    (`<name>-auth`, the password from `secrets`: never from the configuration, never in git).
  - An agency's own phone (`PJSIP/<name>` of an agency) registers the same way
    (agency-endpoint, agency-aor, `<name>-auth`) unless the agency gives it a fixed
    address (`addresses:`) or the test profile does: then it is called at that address
    (agency-fixed-endpoint, agency-fixed-aor), accepts no REGISTER and no call.
  - A registered contact is never replaced by a newer registration while it answers
    (max_contacts 1, remove_existing no, remove_unavailable yes: pjsip.conf templates);
    a stolen password cannot silently take over a desk that is online.
  - Each operator's trunk becomes a trunk-endpoint recognised by its own source addresses
    only (identify section; never by the From user) with an AOR for calls out.
  Endpoints through a trunk (`PJSIP/<number>@<trunk>`) and Local channels need no section.
- The native fallback queue (takers-fallback in queues.conf) gets one member per call
  taker, in the configuration's order.
- Values were checked by the schema (ivr/config/values.py); one that is not safe to write
  here (a line break, a quote) is refused with CentreEndpointsInvalid, never stripped. A name
  used by two different roles is an error naming both.
- `contacts` (test and development profile only) gives a fixed contact address per name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ivr.config.schema import CentreConfig
from ivr.config.values import label

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
    found = [Phone(n, a.name, "taker") for a in config.takers if (n := _plain(a.endpoint))]
    found += [
        Phone(n, t.description or key, "overflow")
        for key, t in config.overflow_targets.items()
        if (n := _plain(t.endpoint)) and n not in {p.name for p in found}
    ]
    return found


@dataclass(frozen=True)
class AgencyPhone:
    name: str
    agency: str  # the agency's name, for the comment
    address: str | None  # host:port when the phone is reached at a fixed address


def agency_phones(config: CentreConfig, contacts: Mapping[str, str] | None = None) -> list[AgencyPhone]:
    """The agencies' own SIP phones, first listing first; `contacts` (test profile) fixes addresses."""
    found: dict[str, AgencyPhone] = {}
    for agency in config.agencies:
        for endpoint in agency.endpoints:
            name = _plain(endpoint)
            if name and name not in found:
                address = agency.addresses.get(name) or (contacts or {}).get(name)
                found[name] = AgencyPhone(name, agency.name, address)
    return list(found.values())


def agencies(config: CentreConfig) -> list[str]:
    return [a.name for a in agency_phones(config)]


def registering_agency_phones(config: CentreConfig, static_contacts: bool = False) -> list[str]:
    """The agencies' phones that register (no fixed address, in this profile): the ones whose
    contact can change, hence are watched for it."""
    contacts = loopback_contacts(config) if static_contacts else None
    return [a.name for a in agency_phones(config, contacts) if a.address is None]


def secret_names(config: CentreConfig, contacts: Mapping[str, str] | None = None) -> list[str]:
    """Every endpoint that can register, hence needs a SIP password (secrets/sip_<name>)."""
    registering = [a.name for a in agency_phones(config, contacts) if a.address is None]
    return [p.name for p in phones(config)] + registering


def _safe(text: str) -> str:
    """Text written into the file as it is; anything that could break out of its line is refused."""
    try:
        return label(text) if text else text
    except ValueError as exc:
        raise CentreEndpointsInvalid(f"{text!r}: {exc}") from None


def render(
    config: CentreConfig, secrets: Mapping[str, str], contacts: Mapping[str, str] | None = None
) -> dict[str, str]:
    """File name -> text, for the FOLDER inside Asterisk's etc folder."""
    desks, called = phones(config), agency_phones(config, contacts)
    clash = sorted({p.name for p in desks} & {a.name for a in called})
    if clash:
        raise CentreEndpointsInvalid(
            f"PJSIP/{clash[0]} is both a phone (call taker or overflow) and an agency"
        )
    names = {p.name for p in desks} | {a.name for a in called}
    trunk_clash = sorted({t.id for t in config.trunks} & names)
    if trunk_clash:
        raise CentreEndpointsInvalid(f"'{trunk_clash[0]}' is both a trunk and a phone or agency")
    missing = [name for name in secret_names(config, contacts) if not secrets.get(name)]
    if missing:
        raise CentreEndpointsInvalid(f"no SIP password for {', '.join(missing)}")
    contacts = contacts or {}

    def contact(name: str) -> str:
        return f"contact = sip:{name}@{contacts[name]}\n" if name in contacts else ""

    def auth(name: str) -> str:
        return (
            f"[{name}-auth]\ntype = auth\nauth_type = digest\nusername = {name}\n"
            f"password = {_safe(secrets[name])}\n"
        )

    out = [
        f"; Generated from the centre configuration ({_safe(config.centre)})"
        " by `python -m ivr config apply`.\n"
        "; Do not edit: change queue/*.yaml and apply it. Holds SIP passwords: never commit.\n"
    ]
    for p in desks:
        display = _safe(p.display)
        out.append(
            f"\n; {p.role}: {display}\n[{p.name}](taker-endpoint)\nauth = {p.name}-auth\n"
            f'aors = {p.name}\ncallerid = "{display}" <{p.name}>\n\n'
            f"[{p.name}](taker-aor)\n{contact(p.name)}\n{auth(p.name)}"
        )
    for phone in called:
        if phone.address is None:  # the agency's desk phone registers with its own password
            out.append(
                f"\n; agency phone (registers): {_safe(phone.agency)}\n[{phone.name}](agency-endpoint)\n"
                f"auth = {phone.name}-auth\naors = {phone.name}\n\n[{phone.name}](agency-aor)\n\n"
                f"{auth(phone.name)}"
            )
        else:  # called at its fixed address; no REGISTER, no call in
            out.append(
                f"\n; agency at a fixed address: {_safe(phone.agency)}\n"
                f"[{phone.name}](agency-fixed-endpoint)\naors = {phone.name}\n\n"
                f"[{phone.name}](agency-fixed-aor)\ncontact = sip:{phone.name}@{_safe(phone.address)}\n"
            )
    for trunk in config.trunks:
        aor = f"contact = sip:{_safe(trunk.contact)}\n" if trunk.contact else ""
        out.append(
            f"\n; trunk: {_safe(trunk.name)}\n[{trunk.id}](trunk-endpoint)\naors = {trunk.id}\n\n"
            f"[{trunk.id}]\ntype = aor\n{aor}\n"
            f"[{trunk.id}-identify]\ntype = identify\nendpoint = {trunk.id}\n"
            f"match = {','.join(_safe(m) for m in trunk.match)}\n"
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
