"""The SIP edge of the cluster (Kamailio 5.6 in front of two or more Asterisk nodes),
rendered from the centre configuration (queue/*.yaml).

Rules:
- Pure: (config, passwords, nodes, edge address, folders) -> file name -> text. Nothing
  here reads or writes; `python -m ivr config edge` (ivr/tools/edge_apply.py) writes.
- The routing rules are kamailio.cfg's own header (ivr/config/sip_edge_cfg.py): operators'
  trunks recognised by source address only, calls spread over healthy nodes, phones
  registering with their own digest password, nodes reaching phones and operators (a
  trunk's `contact`) through the edge.
- The subscribers are exactly the phones that register with Asterisk (asterisk_centre:
  call takers, overflow desks, agencies' phones without a fixed address), each with the
  same password as on the Asterisk side. Only digests are written (ha1 =
  md5(user:realm:password), ha1b = md5(user@realm:realm:password)), never a password.
- Several edges (active/active, each on its own address): `EdgeSite.peers` are the others;
  they share the phones' registrations (DMQ) and one digest realm (edge 1's address unless
  set), so a phone's digest is the same at every edge. One edge: no DMQ at all.
- Every value is checked before it is written: an address, a name, a folder or a password
  that could break out of its place is refused with EdgeInvalid naming it, never
  stripped. A trunk that matches a node's or the edge's own address is refused too.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from ivr.config.asterisk_centre import phones, registering_agency_phones
from ivr.config.schema import CentreConfig
from ivr.config.sip_edge_cfg import TEMPLATE
from ivr.core.edge_dial import EdgesInvalid
from ivr.core.edge_dial import parse_edges as edge_list

CFG_FILE = "kamailio.cfg"
DISPATCHER_FILE = "dispatcher.list"
DB_FOLDER = "db"  # db_text's database: one file per table
SUBSCRIBER_FILE = f"{DB_FOLDER}/subscriber"
VERSION_FILE = f"{DB_FOLDER}/version"
SUBSCRIBER_VERSION = 7  # auth_db's table version in Kamailio 5.6
DEFAULT_EDGE = "127.0.0.50:5060"
DEFAULT_NODES = "a1=127.0.0.51:5060,a2=127.0.0.52:5060"
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_TRUNK = re.compile(r"^[a-z][a-z0-9_-]{0,30}$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,78}[A-Za-z0-9])?$")
_FOLDER = re.compile(r"^/[A-Za-z0-9._/+-]{0,200}$")
_MARK = re.compile(r"\{\{[A-Z_]+\}\}")


class EdgeInvalid(ValueError):
    pass


@dataclass(frozen=True)
class Address:
    host: str  # an IPv4 address
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Node:
    name: str
    address: Address


@dataclass(frozen=True)
class EdgeSite:
    """Where the edge listens and where its files live on its machine."""

    address: Address
    folder: PurePosixPath  # the rendered files (absolute)
    run_dir: PurePosixPath  # Kamailio's runtime folder (its control socket)
    realm: str = ""  # the digest realm; empty: the edge's address
    peers: tuple[Address, ...] = ()  # the centre's other edges (registrations shared by DMQ)


def parse_address(text: str, what: str) -> Address:
    """host:port (port 5060 when left out); host an IPv4 address that can be bound."""
    host, colon, port = text.strip().rpartition(":")
    if not colon:
        host, port = text.strip(), "5060"
    if not (port.isdigit() and 1 <= int(port) <= 65535):
        raise EdgeInvalid(f"{what}: {text!r}: the port must be a number from 1 to 65535")
    try:
        ip = ipaddress.IPv4Address(host)
    except ValueError:
        raise EdgeInvalid(f"{what}: {text!r}: {host!r} is not an IPv4 address") from None
    if ip.is_unspecified or ip.is_multicast or ip == ipaddress.IPv4Address("255.255.255.255"):
        raise EdgeInvalid(f"{what}: {text!r}: give the one address it uses, not {ip}")
    return Address(str(ip), int(port))


def parse_edges(text: str) -> list[Address]:
    """`host:port,host:port,...` (IVR_SIP_EDGE): the centre's edges, edge 1 first."""
    try:
        items = edge_list(text)
    except EdgesInvalid as exc:
        raise EdgeInvalid(str(exc)) from None
    if not items:
        raise EdgeInvalid("IVR_SIP_EDGE names no edge")
    return [parse_address(item, f"edge {index}") for index, item in enumerate(items, start=1)]


def parse_nodes(text: str) -> list[Node]:
    """`name=host:port,name=host:port,...` (IVR_CLUSTER_NODES)."""
    nodes = []
    for index, item in enumerate(part.strip() for part in text.split(",")):
        name, equals, address = item.partition("=")
        if not equals or not _NAME.match(name.strip()):
            raise EdgeInvalid(
                f"node {index + 1}: {item!r} is not name=host:port (name of A-Z a-z 0-9 _ -, at most 40)"
            )
        nodes.append(Node(name.strip(), parse_address(address, f"node {name.strip()}")))
    return nodes


def subscribers(config: CentreConfig) -> list[str]:
    """The phones that register (with the edge here, with Asterisk in one box), in order."""
    found = [p.name for p in phones(config)]
    for name in registering_agency_phones(config):
        if name in found:
            raise EdgeInvalid(f"PJSIP/{name} is both a phone (call taker or overflow) and an agency")
        found.append(name)
    for name in found:
        if not _NAME.match(name):
            raise EdgeInvalid(f"phone {name!r}: a SIP name may hold only A-Z a-z 0-9 _ -")
    return found


def digest(user: str, realm: str, password: str) -> str:
    """HA1 of RFC 2617: md5(user:realm:password), hex."""
    return hashlib.md5(f"{user}:{realm}:{password}".encode(), usedforsecurity=False).hexdigest()


def _password(name: str, secrets: Callable[[str], str] | Mapping[str, str]) -> str:
    value = secrets.get(name, "") if isinstance(secrets, Mapping) else secrets(name)
    if not value:
        raise EdgeInvalid(f"no SIP password for {name}")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        raise EdgeInvalid(f"the SIP password of {name} holds a space or a control character")
    return value


def _folder(path: PurePosixPath, what: str) -> str:
    text = str(path)
    if not _FOLDER.match(text) or "/../" in f"{text}/":
        raise EdgeInvalid(f"{what}: {text!r} must be an absolute path of A-Z a-z 0-9 . _ / + - only")
    return text


def _trunk_checks(config: CentreConfig, taken: Mapping[str, ipaddress.IPv4Address]) -> str:
    """One line per trunk: its networks checked against the request's source address."""
    lines = []
    for trunk in config.trunks:
        if not _TRUNK.match(trunk.id):
            raise EdgeInvalid(f"trunk {trunk.id!r}: an id may hold only a-z 0-9 _ - (from a letter)")
        networks = []
        for text in trunk.match:
            try:
                network = ipaddress.IPv4Network(text, strict=True)
            except ValueError:
                raise EdgeInvalid(f"trunk {trunk.id}: match {text!r} is not an IPv4 network") from None
            for what, ip in taken.items():
                if ip in network:
                    raise EdgeInvalid(f"trunk {trunk.id}: match {text} holds {what}'s address {ip}")
            networks.append(str(network))
        lines.append(f'\tif (is_in_subnet("$si", "{",".join(networks)}")) {{ $var(trunk) = "{trunk.id}"; }}')
    return "\n".join(lines) if lines else "\t# no operator trunk in the centre configuration"


def _operator_checks(config: CentreConfig, taken: Mapping[str, ipaddress.IPv4Address]) -> str:
    """One line per trunk with a contact: a node's request to it is relayed there."""
    lines = []
    for trunk in config.trunks:
        if trunk.contact is None:
            continue
        host, colon, port = trunk.contact.rpartition(":")
        host, port = (host, port) if colon else (trunk.contact, "5060")
        if not (_HOST.match(host) and port.isdigit() and 1 <= int(port) <= 65535):
            raise EdgeInvalid(f"trunk {trunk.id}: contact {trunk.contact!r} is not host:port")
        for what, ip in taken.items():
            if host == str(ip):
                raise EdgeInvalid(f"trunk {trunk.id}: contact {trunk.contact} is {what}'s address")
        lines.append(f'\tif ($var(target) == "{host}:{int(port)}") {{ $var(operator) = "{trunk.id}"; }}')
    return "\n".join(lines) if lines else "\t# no operator trunk with a contact"


def _dmq_modules(edge: Address, peers: tuple[Address, ...]) -> str:
    """The registrations shared with the other edges (rule 7), or nothing for a lone edge."""
    if not peers:
        return "# one edge: no registration to share (no DMQ)\n"
    notify = "".join(f'modparam("dmq", "notification_address", "sip:{peer}")\n' for peer in peers)
    return (
        'loadmodule "dmq.so"\n'
        'loadmodule "dmq_usrloc.so"\n'
        f'modparam("dmq", "server_address", "sip:{edge}")\n'
        f"{notify}"
        'modparam("dmq", "multi_notify", 1)\n'
        'modparam("dmq", "num_workers", 2)\n'
        "# each other edge pinged every second: one that (re)starts is sent the registrations made\n"
        "# from then on within a second (before its first ping it is only 'pending')\n"
        'modparam("dmq", "ping_interval", 1)\n'
        'modparam("dmq_usrloc", "enable", 1)\n'
        "# at start, every registration the other edges hold is asked for\n"
        'modparam("dmq_usrloc", "sync", 1)\n'
    )


def _dmq_route(peers: tuple[Address, ...]) -> str:
    if not peers:
        return "\t# one edge: no KDMQ taken"
    hosts = ",".join(f"{peer.host}/32" for peer in peers)
    return (
        '\tif (is_method("KDMQ")) {\n'
        f'\t\tif (!is_in_subnet("$si", "{hosts}")) {{\n'
        '\t\t\txlog("L_NOTICE", "edge: KDMQ from $si:$sp refused (not an edge)\\n");\n'
        '\t\t\tsl_send_reply("403", "Forbidden");\n'
        "\t\t\texit;\n"
        "\t\t}\n"
        "\t\tdmq_handle_message();\n"
        "\t\texit;\n"
        "\t}"
    )


def render(
    config: CentreConfig,
    secrets: Callable[[str], str] | Mapping[str, str],
    nodes: list[Node],
    site: EdgeSite,
) -> dict[str, str]:
    """File name (relative to site.folder) -> text."""
    if not nodes:
        raise EdgeInvalid("no node: the edge needs at least one Asterisk node")
    names = [n.name for n in nodes]
    if len(set(names)) != len(names):
        raise EdgeInvalid(f"nodes: a name is given twice ({', '.join(names)})")
    edge = parse_address(str(site.address), "the edge")  # built by hand, not parsed: checked here
    taken: dict[str, ipaddress.IPv4Address] = {"the edge": ipaddress.IPv4Address(edge.host)}
    for number, peer in enumerate(site.peers, start=1):
        ip = ipaddress.IPv4Address(parse_address(str(peer), "another edge").host)
        if ip in taken.values():
            raise EdgeInvalid(f"edge {peer}: {ip} is already an edge's address (edges are told by IP)")
        taken[f"the other edge {number}"] = ip
    for node in nodes:
        ip = ipaddress.IPv4Address(parse_address(str(node.address), f"node {node.name}").host)
        if not _NAME.match(node.name):
            raise EdgeInvalid(f"node {node.name!r}: a name of A-Z a-z 0-9 _ -, at most 40")
        for what, other in taken.items():
            if ip == other:
                raise EdgeInvalid(f"node {node.name}: {ip} is already {what}'s address (told by IP)")
        taken[f"node {node.name}"] = ip
    realm = site.realm or edge.host
    if not _HOST.match(realm):
        raise EdgeInvalid(f"realm {realm!r}: letters, digits, . and - only")
    folder = _folder(site.folder, "edge folder")
    if "\n" in config.centre or '"' in config.centre:
        raise EdgeInvalid(f"centre {config.centre!r}: one line without quotes")
    marks = {
        "CENTRE": config.centre,  # checked by the schema: one line, no quote
        "EDGE_IP": edge.host,
        "EDGE_PORT": str(edge.port),
        "REALM": realm,
        "RUN_DIR": _folder(site.run_dir, "runtime folder"),
        "DB_DIR": f"{folder}/{DB_FOLDER}",
        "DISPATCHER_LIST": f"{folder}/{DISPATCHER_FILE}",
        "TRUNK_CHECKS": _trunk_checks(config, taken),
        "OPERATOR_CHECKS": _operator_checks(config, taken),
        "DMQ_MODULES": _dmq_modules(edge, site.peers),
        "DMQ_ROUTE": _dmq_route(site.peers),
    }
    cfg = _MARK.sub(lambda found: marks[found.group()[2:-2]], TEMPLATE)
    rows = []
    for index, name in enumerate(subscribers(config), start=1):
        password = _password(name, secrets)
        ha1, ha1b = digest(name, realm, password), digest(f"{name}@{realm}", realm, password)
        rows.append(f"{index}:{name}:{realm}:{ha1}:{ha1b}\n")
    dispatcher = (
        f"# The Asterisk nodes of {config.centre} (set 1), generated by `python -m ivr config edge`.\n"
        "# setid destination flags priority attributes\n"
        + "".join(f"1 sip:{n.address} 0 0 duid={n.name}\n" for n in nodes)
    )
    return {
        CFG_FILE: cfg,
        DISPATCHER_FILE: dispatcher,
        SUBSCRIBER_FILE: "id(int,auto) username(str) domain(str) ha1(str) ha1b(str)\n" + "".join(rows),
        VERSION_FILE: f"table_name(str) table_version(int)\nsubscriber:{SUBSCRIBER_VERSION}\n",
    }
