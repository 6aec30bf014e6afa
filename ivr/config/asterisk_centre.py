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
- The desk phones (call takers, overflow desks, agencies' phones that register; in the
  test profile also those given a loopback contact in their stead) follow the centre's
  `desk_phones:` (transport tls, media_encryption sdes: ivr/config/desk_phones.py); an
  agency phone at a fixed address of its own and the trunks do not.
- The native fallback queue (takers-fallback in queues.conf) gets one member per call
  taker, in the configuration's order.
- Values were checked by the schema (ivr/config/values.py); one that is not safe to write
  here (a line break, a quote) is refused with CentreEndpointsInvalid, never stripped. A name
  used by two different roles is an error naming both.
- `contacts` (test and development profile only) gives a fixed contact address per name.
- The cluster form (`edge`: the SIP edge's IPv4 address and port, IVR_SIP_EDGE) puts the
  edge between the world and every node; unset, the output is the single-node form above.
  With it:
  - Phones (call takers, overflow desks, agencies' phones that register) register with
    the edge, never with a node: each AOR has the static contact `sip:<name>@<edge>` and
    accepts no REGISTER (edge-phone-aor: max_contacts 0). Its qualify goes to the edge,
    which relays it to the phone or answers 404 when the phone is not registered; only a
    2xx counts (qualify_2xx_only), so a 404 marks the phone unreachable. `contacts` (the
    test profile) is not used: phones are always reached through the edge.
  - A call a phone makes reaches the node from the edge with `X-Ivr112-Phone: <name>`;
    the edge has checked the phone's password, so the node identifies the phone by that
    header (identify with match_header) and challenges nothing.
  - An operator's call reaches the node from the edge with `X-Ivr112-Trunk: <trunk id>`,
    added by the edge once it has checked the source; the trunk is identified by that
    header only. Calls out through a trunk are sent to the edge (outbound_proxy), which
    relays them to the operator: a node never exchanges SIP with an operator.
  - An agency phone at a fixed address (`addresses:`) is still called directly there.
  - The desk phones stay on UDP: `desk_phones: {transport: tls}` is refused here (the edge
    relays UDP only).
  - A pjsip ACL (edge-only) answers 403 to every request not from the edge's address or
    from an agency's fixed address (its calls' own requests, a BYE): nobody else reaches a
    node. An ACL holds addresses only, so a fixed address given as a DNS name is refused.
  - Several edges (`edge` a comma-separated list, edge 1 first): the ACL lets each in, a
    phone's AOR has one contact per edge (`sip:<name>@<edge N>`: reachable while any edge
    reaches it), and each trunk has, beside its own endpoint (out through edge 1), one
    endpoint per further edge (`<trunk>-edge<N>`, out through edge N) with the same AOR.
    Which edge a leg takes is the control plane's choice (ivr.core.edge_dial).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ivr.config.desk_phones import endpoint_lines, loopback_contact
from ivr.config.schema import CentreConfig
from ivr.config.values import label
from ivr.core.edge_dial import EdgesInvalid, parse_edges, trunk_via_edge

PJSIP_FILE = "pjsip_centre.conf"
QUEUES_FILE = "queues_centre.conf"
FOLDER = "centre"  # inside Asterisk's etc folder, #include'd by pjsip.conf and queues.conf
_PLAIN = re.compile(r"^PJSIP/([A-Za-z0-9_-]{1,40})$")
# The headers the SIP edge adds to what it relays to a node (the cluster form): who sent it.
TRUNK_HEADER = "X-Ivr112-Trunk"  # an operator's call: the trunk's id, once the edge checked its source
PHONE_HEADER = "X-Ivr112-Phone"  # a phone's call: the phone's name, once the edge checked its password
EDGE_ACL = "edge-only"  # the pjsip ACL of the cluster form


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
    desk: bool = True  # a desk phone (registers; the test profile's contact): not one of `addresses:`


def agency_phones(config: CentreConfig, contacts: Mapping[str, str] | None = None) -> list[AgencyPhone]:
    """The agencies' own SIP phones, first listing first; `contacts` (test profile) fixes addresses."""
    found: dict[str, AgencyPhone] = {}
    for agency in config.agencies:
        for endpoint in agency.endpoints:
            name = _plain(endpoint)
            if name and name not in found:
                own = agency.addresses.get(name)
                address = own or (contacts or {}).get(name)
                found[name] = AgencyPhone(name, agency.name, address, desk=own is None)
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


def sip_edge(text: str) -> str:
    """The SIP edges' addresses in the cluster form (IVR_SIP_EDGE): one or more IPv4 addresses
    with a port, comma-separated (the nodes' ACL holds addresses, not names), returned
    normalised. Raises CentreEndpointsInvalid."""
    try:
        edges = parse_edges(text)
    except EdgesInvalid as exc:
        raise CentreEndpointsInvalid(f"{exc} (IVR_SIP_EDGE {text!r})") from None
    if not edges:
        raise CentreEndpointsInvalid(
            f"SIP edge {text!r}: write each edge's IPv4 address and port (a.b.c.d:port)"
        )
    return ",".join(edges)


def render(
    config: CentreConfig,
    secrets: Mapping[str, str],
    contacts: Mapping[str, str] | None = None,
    edge: str | None = None,
) -> dict[str, str]:
    """File name -> text, for the FOLDER inside Asterisk's etc folder; `edge` (host:port of
    the SIP edge) gives the cluster form, where `contacts` is not used."""
    if edge is not None:
        edge, contacts = sip_edge(edge), None
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
    if edge is not None:
        return _render_edge(config, desks, called, edge)
    missing = [name for name in secret_names(config, contacts) if not secrets.get(name)]
    if missing:
        raise CentreEndpointsInvalid(f"no SIP password for {', '.join(missing)}")
    contacts = contacts or {}
    desk = endpoint_lines(config.desk_phones)

    def contact(name: str) -> str:
        return f"contact = sip:{name}@{_escaped(contacts[name])}\n" if name in contacts else ""

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
            f'aors = {p.name}\ncallerid = "{display}" <{p.name}>\n{desk}\n'
            f"[{p.name}](taker-aor)\n{contact(p.name)}\n{auth(p.name)}"
        )
    for phone in called:
        if phone.address is None:  # the agency's desk phone registers with its own password
            out.append(
                f"\n; agency phone (registers): {_safe(phone.agency)}\n[{phone.name}](agency-endpoint)\n"
                f"auth = {phone.name}-auth\naors = {phone.name}\n{desk}\n[{phone.name}](agency-aor)\n\n"
                f"{auth(phone.name)}"
            )
        else:
            out.append(_fixed_agency(phone, desk if phone.desk else ""))
    for trunk in config.trunks:
        aor = f"contact = sip:{_safe(trunk.contact)}\n" if trunk.contact else ""
        out.append(
            f"\n; trunk: {_safe(trunk.name)}\n[{trunk.id}](trunk-endpoint)\naors = {trunk.id}\n\n"
            f"[{trunk.id}]\ntype = aor\n{aor}\n"
            f"[{trunk.id}-identify]\ntype = identify\nendpoint = {trunk.id}\n"
            f"match = {','.join(_safe(m) for m in trunk.match)}\n"
        )
    return {PJSIP_FILE: "".join(out), QUEUES_FILE: _fallback_members(desks)}


def _fallback_members(desks: list[Phone]) -> str:
    """The native fallback queue: every call taker (through the edge too: PJSIP/<name>)."""
    members = [f"member => PJSIP/{p.name},0,{p.name}\n" for p in desks if p.role == "taker"]
    return "; Generated with pjsip_centre.conf: the members of takers-fallback.\n" + "".join(members)


def _fixed_agency(phone: AgencyPhone, desk: str = "") -> str:
    """Called at its fixed address; no REGISTER, no call in (both forms). `desk`: the
    desk phones' lines, for the test profile's stand-in of a phone that registers."""
    return (
        f"\n; agency at a fixed address: {_safe(phone.agency)}\n"
        f"[{phone.name}](agency-fixed-endpoint)\naors = {phone.name}\n{desk}\n"
        f"[{phone.name}](agency-fixed-aor)\ncontact = sip:{phone.name}@{_contact_address(phone)}\n"
    )


def _contact_address(phone: AgencyPhone) -> str:
    """host:port, checked; the test profile's TLS contacts add ";transport=tls" (ours, not text)."""
    address, tls, rest = str(phone.address).partition(";transport=tls")
    if rest or (tls and not phone.desk):
        raise CentreEndpointsInvalid(f"agency phone {phone.name}: address {phone.address!r} is not host:port")
    return _safe(address) + _escaped(tls)


def _escaped(contact: str) -> str:
    """A URI parameter's ";" in a configuration value (a bare ";" starts a comment there)."""
    return contact.replace(";", "\\;")


def _by_header(section: str, endpoint: str, header: str) -> str:
    return f"[{section}]\ntype = identify\nendpoint = {endpoint}\nmatch_header = {header}: {endpoint}\n"


def _acl(edges: list[str], called: list[AgencyPhone]) -> str:
    """Only the edges, and the agencies called at fixed addresses (their calls' own requests),
    reach the node; every other request is answered 403."""
    permitted = [edge.rpartition(":")[0] for edge in edges]
    for phone in called:
        if phone.address is None:
            continue
        host = phone.address.rpartition(":")[0] if ":" in phone.address else phone.address
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise CentreEndpointsInvalid(
                f"agency phone {phone.name}: its fixed address {phone.address!r} must be an IPv4 "
                "address in the cluster form (the nodes' SIP ACL lets in addresses, not names)"
            ) from None
        if host not in permitted:
            permitted.append(host)
    permits = "".join(f"permit = {host}/255.255.255.255\n" for host in permitted)
    return (
        "\n; Nobody but the SIP edge (and the agencies called at fixed addresses) reaches this node.\n"
        f"[{EDGE_ACL}]\ntype = acl\ndeny = 0.0.0.0/0.0.0.0\ndeny = ::/0\n{permits}"
    )


def _render_edge(
    config: CentreConfig, desks: list[Phone], called: list[AgencyPhone], edge: str
) -> dict[str, str]:
    """The cluster form (see the module's rules): phones and trunks through the edge."""
    if config.desk_phones.tls:
        raise CentreEndpointsInvalid(
            "desk_phones: transport tls is not available in the cluster form: the desk phones "
            "register with the SIP edge over UDP (IVR_SIP_EDGE; docs/operations.md)"
        )
    edges = edge.split(",")
    names_taken = {p.name for p in desks} | {a.name for a in called} | {t.id for t in config.trunks}
    out = [
        f"; Generated from the centre configuration ({_safe(config.centre)})"
        " by `python -m ivr config apply`.\n"
        f"; Do not edit: change queue/*.yaml and apply it. The cluster form: phones register with\n"
        f"; the SIP edge(s) {', '.join(edges)}, and only the edges reach this node.\n",
        _acl(edges, called),
    ]

    def phone(name: str, comment: str, template: str, callerid: str) -> str:
        contacts = "".join(f"contact = sip:{name}@{each}\n" for each in edges)
        return (
            f"\n; {comment}\n[{name}]({template})\naors = {name}\n{callerid}\n"
            f"[{name}](edge-phone-aor)\n{contacts}\n" + _by_header(f"{name}-identify", name, PHONE_HEADER)
        )

    for p in desks:
        display = _safe(p.display)
        callerid = f'callerid = "{display}" <{p.name}>\n'
        out.append(phone(p.name, f"{p.role}: {display}", "taker-edge-endpoint", callerid))
    for agency in called:
        if agency.address is None:
            comment = f"agency phone (registers with the edge): {_safe(agency.agency)}"
            out.append(phone(agency.name, comment, "agency-edge-endpoint", ""))
        else:
            out.append(_fixed_agency(agency))
    for trunk in config.trunks:
        aor = f"contact = sip:{_safe(trunk.contact)}\n" if trunk.contact else ""
        out.append(
            f"\n; trunk: {_safe(trunk.name)}\n[{trunk.id}](trunk-edge-endpoint)\naors = {trunk.id}\n"
            f"outbound_proxy = sip:{edges[0]}\\;lr\n\n[{trunk.id}]\ntype = aor\n{aor}\n"
            + _by_header(f"{trunk.id}-identify", trunk.id, TRUNK_HEADER)
        )
        for number, each in enumerate(edges[1:], start=2):
            via = trunk_via_edge(trunk.id, number)
            if via in names_taken:
                raise CentreEndpointsInvalid(
                    f"'{via}' is both a phone or trunk and trunk {trunk.id} through edge {number}"
                )
            out.append(
                f"\n; trunk: {_safe(trunk.name)}, out through edge {number}\n[{via}](trunk-edge-endpoint)\n"
                f"aors = {trunk.id}\noutbound_proxy = sip:{each}\\;lr\n"
            )
    return {PJSIP_FILE: "".join(out), QUEUES_FILE: _fallback_members(desks)}


def loopback_contacts(config: CentreConfig) -> dict[str, str]:
    """The test and development profile: call taker NN on 127.0.0.(10+NN), overflow desks
    from 127.0.0.40, agencies from 127.0.0.31, each on port 5060 (5061 and
    `;transport=tls` when the desk phones use TLS)."""
    found: dict[str, str] = {}
    overflow = 40

    def at(address: str) -> str:
        return loopback_contact(config.desk_phones, address)

    for p in phones(config):
        if p.role == "taker" and p.name[-2:].isdigit() and 1 <= int(p.name[-2:]) <= 20:
            found[p.name] = at(f"127.0.0.{10 + int(p.name[-2:])}")
        elif p.role == "overflow":
            found[p.name] = at(f"127.0.0.{overflow}")
            overflow += 1
    for index, name in enumerate(agencies(config)):
        found[name] = at(f"127.0.0.{31 + index}")
    return found
