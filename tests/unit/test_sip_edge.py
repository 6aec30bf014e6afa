"""The SIP edge's files come from the centre configuration alone: every operator trunk's
source addresses are what marks its calls; every phone that registers with Asterisk in one
box registers with the edge, with a digest of the same password (never the password); the
nodes are the dispatcher's set; a value that could break out of its place in Kamailio's
files, a trunk matching a node or the edge, or a phone without a password is refused with
a message naming it."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
import yaml

from ivr.config.asterisk_centre import secret_names
from ivr.config.loader import load
from ivr.config.schema import CentreConfig
from ivr.config.sip_edge import (
    CFG_FILE,
    DISPATCHER_FILE,
    SUBSCRIBER_FILE,
    VERSION_FILE,
    Address,
    EdgeInvalid,
    EdgeSite,
    Node,
    parse_address,
    parse_nodes,
    render,
    subscribers,
)

REPO = Path(__file__).resolve().parents[2]
CENTRE = load(REPO / "queue" / "kendari.yaml")
SITE = EdgeSite(Address("127.0.0.50", 5060), PurePosixPath("/var/cache/ivr112/edge"), PurePosixPath("/run/x"))
NODES = parse_nodes("a1=127.0.0.51:5060,a2=127.0.0.52:5060")


def passwords(config: CentreConfig) -> dict[str, str]:
    return {name: f"pw-{name}-0123456789" for name in secret_names(config)}


def rows(text: str) -> dict[str, list[str]]:
    """The subscriber table's rows by user name: [id, user, domain, ha1, ha1b]."""
    header, *lines = text.splitlines()
    assert header == "id(int,auto) username(str) domain(str) ha1(str) ha1b(str)"
    return {line.split(":")[1]: line.split(":") for line in lines}


def with_trunks(trunks: list[dict[str, object]]) -> CentreConfig:
    data = yaml.safe_load((REPO / "queue" / "kendari.yaml").read_text())
    data["trunks"] = trunks
    return CentreConfig.model_validate(data)


def test_each_trunk_marks_calls_from_its_own_addresses_by_ip() -> None:
    config = with_trunks([
        {"id": "carrier", "name": "T", "match": ["127.0.0.2", "10.20.30.0/24"], "contact": "127.0.0.2"},
        {"id": "telkom", "name": "Telkom", "match": ["192.0.2.7"]},
    ])  # fmt: skip
    cfg = render(config, passwords(config), NODES, SITE)[CFG_FILE]
    assert re.findall(r'is_in_subnet\("\$si", "([^"]+)"\)\) \{ \$var\(trunk\) = "([a-z]+)"; \}', cfg) == [
        ("127.0.0.2/32,10.20.30.0/24", "carrier"),
        ("192.0.2.7/32", "telkom"),
    ]
    assert 'append_hf("X-Ivr112-Trunk: $var(trunk)\\r\\n");' in cfg
    assert cfg.index('remove_hf("X-Ivr112-Trunk");') < cfg.index("route(FROM_TRUNK);")
    # a node's call out to an operator goes to the trunk's contact (port 5060 when not given)
    assert re.findall(r'if \(\$var\(target\) == "([^"]+)"\) \{ \$var\(operator\) = "([a-z]+)"; \}', cfg) == [
        ("127.0.0.2:5060", "carrier")
    ]


def test_every_phone_is_a_subscriber_with_the_digest_of_its_own_password() -> None:
    secrets = passwords(CENTRE)
    table = rows(render(CENTRE, secrets, NODES, SITE)[SUBSCRIBER_FILE])
    takers = [f"taker{n:02d}" for n in range(1, 21)]
    assert list(table) == [*takers, "supervisor", "damkar", "ambulans", "bpbd", "polisi"]
    assert list(table) == subscribers(CENTRE) == secret_names(CENTRE)  # the same phones as Asterisk's
    for name, (_, user, domain, ha1, ha1b) in table.items():
        password = secrets[name]
        assert (user, domain) == (name, "127.0.0.50")  # realm: the edge's address
        assert ha1 == hashlib.md5(f"{name}:127.0.0.50:{password}".encode()).hexdigest()
        assert ha1b == hashlib.md5(f"{name}@127.0.0.50:127.0.0.50:{password}".encode()).hexdigest()
    every = "".join(render(CENTRE, secrets, NODES, SITE).values())
    assert not any(password in every for password in secrets.values())
    assert render(CENTRE, secrets, NODES, SITE)[VERSION_FILE].splitlines()[1] == "subscriber:7"


def test_passwords_come_from_a_lookup_as_well_as_a_mapping() -> None:
    asked: list[str] = []

    def lookup(name: str) -> str:
        asked.append(name)
        return f"pw-{name}-0123456789"

    assert render(CENTRE, lookup, NODES, SITE) == render(CENTRE, passwords(CENTRE), NODES, SITE)
    assert sorted(set(asked)) == sorted(secret_names(CENTRE))


def test_nodes_are_the_dispatcher_set_and_the_edge_listens_on_its_address_only() -> None:
    files = render(CENTRE, passwords(CENTRE), NODES, SITE)
    assert re.findall(r"^1 (sip:\S+) 0 0 duid=(\w+)$", files[DISPATCHER_FILE], re.MULTILINE) == [
        ("sip:127.0.0.51:5060", "a1"),
        ("sip:127.0.0.52:5060", "a2"),
    ]
    cfg = files[CFG_FILE]
    assert re.findall(r"^listen=(.*)$", cfg, re.MULTILINE) == ["udp:127.0.0.50:5060"]
    assert 'modparam("dispatcher", "list_file", "/var/cache/ivr112/edge/dispatcher.list")' in cfg
    assert 'modparam("auth_db", "db_url", "text:///var/cache/ivr112/edge/db")' in cfg
    assert 'modparam("ctl", "binrpc", "unix:/run/x/kamailio_ctl")' in cfg
    assert 'ds_is_from_list("1", "3")' in cfg  # a node is known by its address, whatever its port
    assert "{{" not in cfg and "}}" not in cfg


def test_the_settings_texts_are_read_with_defaults() -> None:
    assert parse_address("127.0.0.50", "edge") == Address("127.0.0.50", 5060)
    assert parse_nodes(" a1=10.0.0.1:5080 , b2=10.0.0.2 ") == [
        Node("a1", Address("10.0.0.1", 5080)),
        Node("b2", Address("10.0.0.2", 5060)),
    ]


@pytest.mark.parametrize(("text", "named"), [
    ("a1=127.0.0.51:5060,a1=127.0.0.52:5060", "given twice"),
    ("a1=127.0.0.51:5060,a2=127.0.0.51:5070", "node a2: 127.0.0.51 is already node a1's address"),
    ("a1=127.0.0.50:5070", "node a1: 127.0.0.50 is already the edge's address"),
])  # fmt: skip
def test_nodes_that_cannot_be_told_apart_are_refused(text: str, named: str) -> None:
    with pytest.raises(EdgeInvalid, match=named):
        render(CENTRE, passwords(CENTRE), parse_nodes(text), SITE)


@pytest.mark.parametrize(("text", "named"), [
    ("a1=asterisk-a:5060", "node a1: 'asterisk-a:5060'"),
    ("a1=127.0.0.51:0", "the port must be"),
    ("a1=127.0.0.51:5060\nlisten=udp:0.0.0.0:5060", "not an IPv4 address"),
    ('a"1=127.0.0.51', "node 1"),
    ("a1=0.0.0.0:5060", "not 0.0.0.0"),
    ("", "node 1"),
])  # fmt: skip
def test_a_bad_node_list_is_refused_naming_the_node(text: str, named: str) -> None:
    with pytest.raises(EdgeInvalid, match=named):
        parse_nodes(text)


def test_a_trunk_matching_a_node_or_the_edge_is_refused() -> None:
    for network, named in (("127.0.0.48/30", "the edge"), ("127.0.0.51", "node a1")):
        config = with_trunks([{"id": "carrier", "name": "Telkomsel", "match": [network]}])
        with pytest.raises(EdgeInvalid, match=f"trunk carrier: match {network} holds {named}'s address"):
            render(config, passwords(config), NODES, SITE)
    config = with_trunks([{"id": "carrier", "name": "T", "match": ["127.0.0.2"], "contact": "127.0.0.52"}])
    with pytest.raises(EdgeInvalid, match=r"contact 127\.0\.0\.52 is node a2's address"):
        render(config, passwords(config), NODES, SITE)


def test_unsafe_folders_a_missing_password_and_no_node_are_refused() -> None:
    secrets = passwords(CENTRE)
    for folder in ('/var/cache/ivr112/ed"ge', "relative/edge", "/var/cache/ivr 112", "/a/../etc"):
        site = EdgeSite(SITE.address, PurePosixPath(folder), SITE.run_dir)
        with pytest.raises(EdgeInvalid, match="edge folder"):
            render(CENTRE, secrets, NODES, site)
    with pytest.raises(EdgeInvalid, match="no SIP password for taker07"):
        render(CENTRE, {k: v for k, v in secrets.items() if k != "taker07"}, NODES, SITE)
    with pytest.raises(EdgeInvalid, match="taker07 holds a space"):
        render(CENTRE, secrets | {"taker07": "pass word"}, NODES, SITE)
    with pytest.raises(EdgeInvalid, match="no node"):
        render(CENTRE, secrets, [], SITE)
    with pytest.raises(EdgeInvalid, match=r"the edge: 'edge\.example:5060'"):
        render(CENTRE, secrets, NODES, EdgeSite(Address("edge.example", 5060), SITE.folder, SITE.run_dir))
    with pytest.raises(EdgeInvalid, match="node 'a 1'"):
        render(CENTRE, secrets, [Node("a 1", Address("127.0.0.51", 5060))], SITE)
    with pytest.raises(EdgeInvalid, match="realm"):
        render(CENTRE, secrets, NODES, EdgeSite(SITE.address, SITE.folder, SITE.run_dir, realm='x"y'))


def test_the_command_writes_the_files_and_refuses_a_bad_setting(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "IVR_STATE_DIR": str(tmp_path / "state"),
           "IVR_CENTRE_CONFIG": str(REPO / "queue" / "kendari.yaml")}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "ivr", "config", "edge", str(tmp_path / "edge")],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "kamailio.cfg" in done.stdout and "nodes a1=127.0.0.51:5060, a2=127.0.0.52:5060" in done.stdout
    password = (tmp_path / "state" / "secrets" / "sip_taker01").read_text().strip()  # made once, shared
    table = rows((tmp_path / "edge" / SUBSCRIBER_FILE).read_text())
    assert table["taker01"][3] == hashlib.md5(f"taker01:127.0.0.50:{password}".encode()).hexdigest()
    assert (tmp_path / "edge" / SUBSCRIBER_FILE).stat().st_mode & 0o777 == 0o640
    again = subprocess.run([sys.executable, "-m", "ivr", "config", "edge", str(tmp_path / "edge")],
                           env=env, cwd=REPO, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert again.returncode == 0 and "unchanged" in again.stdout
    bad = subprocess.run([sys.executable, "-m", "ivr", "config", "edge", str(tmp_path / "other")],
                         env=env | {"IVR_CLUSTER_NODES": "a1=nowhere"}, cwd=REPO,
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert bad.returncode == 2 and "node a1" in bad.stderr
    assert not (tmp_path / "other").exists()


# ---- several edges: registrations shared (DMQ), one realm ------------------------------

EDGE2 = Address("127.0.0.60", 5060)


def test_a_lone_edge_shares_nothing_and_takes_no_dmq() -> None:
    cfg = render(CENTRE, passwords(CENTRE), NODES, SITE)[CFG_FILE]
    assert 'loadmodule "dmq' not in cfg and 'modparam("dmq' not in cfg and "dmq_handle_message" not in cfg
    assert "# one edge: no KDMQ taken" in cfg


def test_each_edge_shares_registrations_with_the_others_and_takes_kdmq_from_them_only() -> None:
    site = EdgeSite(EDGE2, SITE.folder, SITE.run_dir, realm="127.0.0.50", peers=(SITE.address,))
    cfg = render(CENTRE, passwords(CENTRE), NODES, site)[CFG_FILE]
    assert 'loadmodule "dmq_usrloc.so"' in cfg and 'modparam("dmq_usrloc", "sync", 1)' in cfg
    assert 'modparam("dmq", "server_address", "sip:127.0.0.60:5060")' in cfg
    assert re.findall(r'"notification_address", "([^"]+)"', cfg) == ["sip:127.0.0.50:5060"]
    assert 'if (!is_in_subnet("$si", "127.0.0.50/32"))' in cfg
    # KDMQ is handled before any other rule, and the edge listens on its own address only
    assert cfg.index('is_method("KDMQ")') < cfg.index('remove_hf("X-Ivr112-Trunk")')
    assert re.findall(r"^listen=.*$", cfg, re.MULTILINE) == ["listen=udp:127.0.0.60:5060"]


def test_every_edge_holds_the_same_digests_under_edge_1s_realm() -> None:
    secrets = passwords(CENTRE)
    first = EdgeSite(SITE.address, SITE.folder, SITE.run_dir, realm="127.0.0.50", peers=(EDGE2,))
    second = EdgeSite(EDGE2, SITE.folder, SITE.run_dir, realm="127.0.0.50", peers=(SITE.address,))
    one, two = render(CENTRE, secrets, NODES, first), render(CENTRE, secrets, NODES, second)
    assert one[SUBSCRIBER_FILE] == two[SUBSCRIBER_FILE]
    assert one[DISPATCHER_FILE] == two[DISPATCHER_FILE]
    assert 'auth_check("127.0.0.50", "subscriber", "1")' in two[CFG_FILE]


def test_edges_that_share_an_address_with_each_other_or_a_node_are_refused() -> None:
    secrets = passwords(CENTRE)
    same = EdgeSite(SITE.address, SITE.folder, SITE.run_dir, peers=(Address("127.0.0.50", 5070),))
    with pytest.raises(EdgeInvalid, match="already an edge's address"):
        render(CENTRE, secrets, NODES, same)
    on_node = EdgeSite(SITE.address, SITE.folder, SITE.run_dir, peers=(Address("127.0.0.51", 5060),))
    named = re.escape("node a1: 127.0.0.51 is already the other edge 1's address")
    with pytest.raises(EdgeInvalid, match=named):
        render(CENTRE, secrets, NODES, on_node)


def test_the_command_renders_the_edge_it_is_told_and_refuses_one_not_listed(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "IVR_STATE_DIR": str(tmp_path / "state"),
           "IVR_CENTRE_CONFIG": str(REPO / "queue" / "kendari.yaml"),
           "IVR_SIP_EDGE": "127.0.0.50:5060,127.0.0.60:5060",
           "IVR_EDGE_ADDRESS": "127.0.0.60:5060"}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "ivr", "config", "edge", str(tmp_path / "edge2")],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "edge 127.0.0.60:5060 (other edges 127.0.0.50:5060)" in done.stdout
    cfg = (tmp_path / "edge2" / CFG_FILE).read_text()
    assert "listen=udp:127.0.0.60:5060" in cfg and "sip:127.0.0.50:5060" in cfg
    password = (tmp_path / "state" / "secrets" / "sip_taker01").read_text().strip()
    table = rows((tmp_path / "edge2" / SUBSCRIBER_FILE).read_text())
    assert table["taker01"][3] == hashlib.md5(f"taker01:127.0.0.50:{password}".encode()).hexdigest()
    stray = subprocess.run([sys.executable, "-m", "ivr", "config", "edge", str(tmp_path / "stray")],
                           env=env | {"IVR_EDGE_ADDRESS": "127.0.0.70:5060"}, cwd=REPO,
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert stray.returncode == 2
    assert "IVR_EDGE_ADDRESS 127.0.0.70:5060 is not one of the edges" in stray.stderr
    assert not (tmp_path / "stray").exists()
    twice = subprocess.run([sys.executable, "-m", "ivr", "config", "edge", str(tmp_path / "twice")],
                           env=env | {"IVR_SIP_EDGE": "127.0.0.50:5060,127.0.0.50:5060"}, cwd=REPO,
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert twice.returncode == 2 and "each edge needs an address of its own" in twice.stderr
