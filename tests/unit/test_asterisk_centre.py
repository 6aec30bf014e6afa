"""The centre's SIP endpoints come from the centre configuration alone: a call taker
added to queue/*.yaml becomes a phone with its own password and a member of the
native fallback queue; one removed disappears from both; trunk numbers need no
endpoint; every endpoint that can register has its own password, an agency at a fixed
address cannot register; a name used for two roles, a name Asterisk cannot hold, or a
phone without a password is refused with a message naming it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from ivr.config.asterisk_centre import (
    PJSIP_FILE,
    QUEUES_FILE,
    CentreEndpointsInvalid,
    loopback_contacts,
    registering_agency_phones,
    render,
    secret_names,
)
from ivr.config.loader import load
from ivr.config.schema import CentreConfig, TakerConfig

CENTRE = load(Path(__file__).resolve().parents[2] / "queue" / "kendari.yaml")


def passwords(config: CentreConfig) -> dict[str, str]:
    return {name: f"pw-{name}-0123456789" for name in secret_names(config)}


def sections(text: str, template: str) -> list[str]:
    return re.findall(rf"^\[([A-Za-z0-9_-]+)\]\({template}\)$", text, re.MULTILINE)


def members(text: str) -> list[str]:
    return re.findall(r"^member => PJSIP/([^,]+),0,", text, re.MULTILINE)


def test_shipped_centre_gives_twenty_takers_the_supervisor_and_four_agencies() -> None:
    files = render(CENTRE, passwords(CENTRE))
    takers = [f"taker{n:02d}" for n in range(1, 21)]
    assert sections(files[PJSIP_FILE], "taker-endpoint") == [*takers, "supervisor"]
    assert sections(files[PJSIP_FILE], "agency-endpoint") == ["damkar", "ambulans", "bpbd", "polisi"]
    assert members(files[QUEUES_FILE]) == takers  # the supervisor is not a fallback member
    assert "password = pw-taker07-0123456789" in files[PJSIP_FILE]


def test_every_agency_phone_that_can_register_has_its_own_password() -> None:
    """Without a fixed address, an agency's phone registers: with digest auth, like a taker's."""
    assert secret_names(CENTRE)[-4:] == ["damkar", "ambulans", "bpbd", "polisi"]
    text = render(CENTRE, passwords(CENTRE))[PJSIP_FILE]
    assert "[polisi](agency-endpoint)\nauth = polisi-auth\naors = polisi\n" in text
    assert "[polisi-auth]\ntype = auth\nauth_type = digest\nusername = polisi\npassword = pw-polisi-" in text
    with pytest.raises(CentreEndpointsInvalid, match="no SIP password for polisi"):
        render(CENTRE, {k: v for k, v in passwords(CENTRE).items() if k != "polisi"})


def test_an_agency_at_a_fixed_address_cannot_register_and_needs_no_password() -> None:
    fixed = CENTRE.agencies[3].model_copy(update={"addresses": {"polisi": "10.20.4.5:5060"}})
    config = CENTRE.model_copy(update={"agencies": [*CENTRE.agencies[:3], fixed]})
    assert "polisi" not in secret_names(config)
    # Only phones that register can change their contact: those are watched for it.
    assert registering_agency_phones(config) == ["damkar", "ambulans", "bpbd"]
    assert registering_agency_phones(config, static_contacts=True) == []  # the test profile
    text = render(config, passwords(config))[PJSIP_FILE]
    assert sections(text, "agency-fixed-endpoint") == ["polisi"]
    assert "[polisi](agency-fixed-aor)\ncontact = sip:polisi@10.20.4.5:5060\n" in text
    assert "polisi-auth" not in text


def test_the_templates_close_the_sip_doors() -> None:
    """Trunks by address only; phones by credentials only; no live contact replaced;
    fixed agencies refuse REGISTER (the templates the generated sections use)."""
    conf = (Path(__file__).resolve().parents[2] / "asterisk-conf" / "pjsip.conf").read_text()

    def template(name: str) -> str:
        found = re.search(rf"^\[{re.escape(name)}\]\(!?[^)]*\)\n(.*?)(?=^\[|\Z)", conf, re.M | re.S)
        assert found, name
        return re.sub(r"\s*;.*", "", found.group(1))

    assert "identify_by = ip\n" in template("trunk-endpoint")
    for phone in ("taker-endpoint", "agency-endpoint"):
        assert "identify_by = username\n" in template(phone)
    for aor in ("taker-aor", "agency-aor"):
        body = template(aor)
        assert "max_contacts = 1\n" in body and "remove_existing = no\n" in body, aor
        assert "remove_unavailable = yes\n" in body, aor
    assert "identify_by = ip" in template("agency-fixed-endpoint")
    assert "max_contacts = 0" in template("agency-fixed-aor")


@pytest.mark.parametrize(
    "field",
    ["centre", "name"],
)
def test_a_line_break_in_free_text_never_reaches_the_file(field: str) -> None:
    """A value that would start a new line (a forged section) is refused, never stripped."""
    forged = "Kendari 112\n[evil-identify]\ntype = identify\nendpoint = carrier\nmatch = 0.0.0.0/0"
    if field == "centre":
        config = CENTRE.model_copy(update={"centre": forged})
    else:
        config = CENTRE.model_copy(update={"takers": [CENTRE.takers[0].model_copy(update={"name": forged})]})
    with pytest.raises(CentreEndpointsInvalid, match="not allowed here"):
        render(config, passwords(config))


def test_a_taker_added_or_removed_in_the_centre_file_follows_in_both_files() -> None:
    added = CENTRE.model_copy(
        update={
            "takers": [
                *CENTRE.takers[1:],
                TakerConfig(id="taker21", name="Ibu Sari", endpoint="PJSIP/taker21", employment="contract"),
            ]
        }
    )
    files = render(added, passwords(added))
    assert "taker21" in sections(files[PJSIP_FILE], "taker-endpoint")
    assert "taker01" not in sections(files[PJSIP_FILE], "taker-endpoint")
    assert members(files[QUEUES_FILE])[-1] == "taker21" and "taker01" not in members(files[QUEUES_FILE])
    assert 'callerid = "Ibu Sari" <taker21>' in files[PJSIP_FILE]


def test_trunk_numbers_need_no_endpoint() -> None:
    agencies = [
        CENTRE.agencies[0].model_copy(update={"endpoints": ["PJSIP/0401123456@carrier", "PJSIP/damkar"]})
    ]
    config = CENTRE.model_copy(update={"agencies": agencies})
    assert sections(render(config, passwords(config))[PJSIP_FILE], "agency-endpoint") == ["damkar"]


def test_refusals_name_what_is_wrong() -> None:
    clash = [CENTRE.agencies[0].model_copy(update={"endpoints": ["PJSIP/taker03"]})]
    config = CENTRE.model_copy(update={"agencies": clash})
    with pytest.raises(CentreEndpointsInvalid, match="PJSIP/taker03 is both a phone"):
        render(config, passwords(config))
    with pytest.raises(CentreEndpointsInvalid, match="no SIP password for taker05"):
        render(CENTRE, {k: v for k, v in passwords(CENTRE).items() if k != "taker05"})
    odd = [CENTRE.takers[0].model_copy(update={"endpoint": "PJSIP/taker.01"}), *CENTRE.takers[1:]]
    with pytest.raises(CentreEndpointsInvalid, match=re.escape("'PJSIP/taker.01'")):
        secret_names(CENTRE.model_copy(update={"takers": odd}))


def test_loopback_profile_contacts() -> None:
    contacts = loopback_contacts(CENTRE)
    assert contacts["taker01"] == "127.0.0.11:5060" and contacts["taker20"] == "127.0.0.30:5060"
    assert contacts["supervisor"] == "127.0.0.40:5060" and contacts["polisi"] == "127.0.0.34:5060"
    text = render(CENTRE, passwords(CENTRE), contacts)[PJSIP_FILE]
    assert "[damkar](agency-fixed-aor)\ncontact = sip:damkar@127.0.0.31:5060\n" in text
    assert "contact = sip:taker" not in render(CENTRE, passwords(CENTRE))[PJSIP_FILE]


def test_each_operator_trunk_is_identified_by_its_own_addresses_only() -> None:
    text = render(CENTRE, passwords(CENTRE))[PJSIP_FILE]
    assert sections(text, "trunk-endpoint") == ["carrier", "indosat", "telkom"]
    assert "[indosat-identify]\ntype = identify\nendpoint = indosat\nmatch = 127.0.0.3\n" in text
    assert "[carrier]\ntype = aor\ncontact = sip:127.0.0.2:5060\n" in text


def test_trunk_mistakes_are_refused_naming_them() -> None:
    raw = yaml.safe_load((Path(__file__).resolve().parents[2] / "queue" / "kendari.yaml").read_text())
    raw["trunks"][1]["match"] = ["127.0.0.2"]
    raw["agencies"][0]["endpoints"] = ["PJSIP/0401123456@xl"]
    with pytest.raises(ValidationError) as refused:
        CentreConfig.model_validate(raw)
    assert "trunks: address 127.0.0.2 matches two trunks: each operator needs its own" in str(refused.value)
    assert "agencies.0.endpoints: 'PJSIP/0401123456@xl' goes through 'xl', which is not a trunk" in str(
        refused.value
    )


# ---- the cluster form (IVR_SIP_EDGE): phones and trunks through the SIP edge ----------

EDGE = "127.0.0.50:5060"


def section_body(text: str, head: str) -> str:
    """The lines of the section starting with the line `head`, up to the next blank line."""
    found = re.search(rf"^{re.escape(head)}\n(.*?)(?:\n\n|\Z)", text, re.MULTILINE | re.DOTALL)
    assert found, head
    return found.group(1) + "\n"


def test_without_an_edge_the_single_node_form_is_unchanged() -> None:
    for contacts in (None, loopback_contacts(CENTRE)):
        files = render(CENTRE, passwords(CENTRE), contacts)
        assert files == render(CENTRE, passwords(CENTRE), contacts, None)
        text = files[PJSIP_FILE]
        for edge_only in ("match_header", "type = acl", "edge", "X-Ivr112", "outbound_proxy"):
            assert edge_only not in text, edge_only
        assert sections(text, "taker-endpoint")[:2] == ["taker01", "taker02"]
        assert "[carrier-identify]\ntype = identify\nendpoint = carrier\nmatch = 127.0.0.2\n" in text


def test_with_an_edge_every_phone_is_reached_through_it_and_registers_there_only() -> None:
    """Takers, the supervisor and the agencies' registering phones: one static contact at the
    edge, no REGISTER at the node, no password on the node; the test profile's loopback
    contacts are not used; the fallback queue's members stay PJSIP/<taker>."""
    files = render(CENTRE, passwords(CENTRE), loopback_contacts(CENTRE), edge=EDGE)
    text = files[PJSIP_FILE]
    takers = [f"taker{n:02d}" for n in range(1, 21)]
    assert sections(text, "taker-edge-endpoint") == [*takers, "supervisor"]
    assert sections(text, "agency-edge-endpoint") == ["damkar", "ambulans", "bpbd", "polisi"]
    assert sections(text, "edge-phone-aor") == [*takers, "supervisor", "damkar", "ambulans", "bpbd", "polisi"]
    for name in ("taker07", "supervisor", "polisi"):
        assert section_body(text, f"[{name}](edge-phone-aor)") == f"contact = sip:{name}@{EDGE}\n"
    assert re.findall(r"^contact = sip:taker07@.*$", text, re.MULTILINE) == [f"contact = sip:taker07@{EDGE}"]
    assert "127.0.0.17" not in text and "127.0.0.31" not in text  # no loopback phone contact
    assert "auth" not in text and "password" not in text
    assert members(files[QUEUES_FILE]) == takers
    assert files[QUEUES_FILE] == render(CENTRE, passwords(CENTRE))[QUEUES_FILE]
    # Nor does the node need the passwords: the edge checks them.
    assert render(CENTRE, {}, edge=EDGE) == render(CENTRE, passwords(CENTRE), edge=EDGE)


def test_with_an_edge_a_phones_call_is_known_by_the_edges_phone_header() -> None:
    text = render(CENTRE, passwords(CENTRE), edge=EDGE)[PJSIP_FILE]
    assert (
        "[taker07-identify]\ntype = identify\nendpoint = taker07\nmatch_header = X-Ivr112-Phone: taker07\n"
        in text
    )
    assert (
        "[polisi-identify]\ntype = identify\nendpoint = polisi\nmatch_header = X-Ivr112-Phone: polisi\n"
        in text
    )
    assert section_body(text, "[taker07](taker-edge-endpoint)") == (
        'aors = taker07\ncallerid = "Call taker 07" <taker07>\n'
    )


def test_with_an_edge_each_trunk_is_identified_by_the_edges_header_only() -> None:
    """Not by address (the node never sees the operators'), and calls out go to the edge."""
    text = render(CENTRE, passwords(CENTRE), edge=EDGE)[PJSIP_FILE]
    assert sections(text, "trunk-edge-endpoint") == ["carrier", "indosat", "telkom"]
    assert (
        "[indosat-identify]\ntype = identify\nendpoint = indosat\nmatch_header = X-Ivr112-Trunk: indosat\n"
        in text
    )
    assert not re.search(r"^match =", text, re.MULTILINE)
    assert section_body(text, "[carrier](trunk-edge-endpoint)") == (
        f"aors = carrier\noutbound_proxy = sip:{EDGE}\\;lr\n"
    )
    assert "[carrier]\ntype = aor\ncontact = sip:127.0.0.2:5060\n" in text


def test_with_an_edge_nobody_but_the_edge_reaches_the_node() -> None:
    text = render(CENTRE, passwords(CENTRE), edge=EDGE)[PJSIP_FILE]
    assert section_body(text, "[edge-only]") == (
        "type = acl\ndeny = 0.0.0.0/0.0.0.0\ndeny = ::/0\npermit = 127.0.0.50/255.255.255.255\n"
    )
    assert text.count("type = acl") == 1


def test_with_an_edge_an_agency_at_a_fixed_address_is_still_called_there_and_let_in() -> None:
    """Its hang-up (a BYE from its own address) must reach the node: the ACL permits it. An
    ACL holds addresses only: a DNS name is refused naming the phone."""
    fixed = CENTRE.agencies[3].model_copy(update={"addresses": {"polisi": "10.20.4.5:5060"}})
    config = CENTRE.model_copy(update={"agencies": [*CENTRE.agencies[:3], fixed]})
    text = render(config, passwords(config), edge=EDGE)[PJSIP_FILE]
    assert sections(text, "agency-fixed-endpoint") == ["polisi"]
    assert "[polisi](agency-fixed-aor)\ncontact = sip:polisi@10.20.4.5:5060\n" in text
    assert "polisi-identify" not in text
    assert "permit = 127.0.0.50/255.255.255.255\npermit = 10.20.4.5/255.255.255.255\n" in text
    named = CENTRE.agencies[3].model_copy(update={"addresses": {"polisi": "polres.example.id:5060"}})
    config = CENTRE.model_copy(update={"agencies": [*CENTRE.agencies[:3], named]})
    with pytest.raises(CentreEndpointsInvalid, match="agency phone polisi: its fixed address"):
        render(config, passwords(config), edge=EDGE)
    render(config, passwords(config))  # the single-node form lets anyone in by address anyway


@pytest.mark.parametrize("edge", ["edge.example:5060", "127.0.0.50", "127.0.0.50:0", "127.0.0.300:5060", ""])
def test_an_edge_that_is_no_ipv4_address_and_port_is_refused(edge: str) -> None:
    with pytest.raises(CentreEndpointsInvalid, match="IPv4 address and port"):
        render(CENTRE, passwords(CENTRE), edge=edge)


def test_the_edge_templates_trust_the_edges_header_and_refuse_register() -> None:
    conf = (Path(__file__).resolve().parents[2] / "asterisk-conf" / "pjsip.conf").read_text()

    def template(name: str) -> tuple[str, str]:
        found = re.search(rf"^\[{re.escape(name)}\]\(!,?([^)]*)\)\n(.*?)(?=^\[|\Z)", conf, re.M | re.S)
        assert found, name
        return found.group(1), re.sub(r"\s*;.*", "", found.group(2))

    for edge_form, single in (("trunk", "trunk"), ("taker", "taker"), ("agency", "agency")):
        parent, body = template(f"{edge_form}-edge-endpoint")
        assert parent == f"{single}-endpoint" and body.strip() == "identify_by = header"
    _, aor = template("edge-phone-aor")
    assert "max_contacts = 0\n" in aor and "qualify_2xx_only = yes\n" in aor
    assert "qualify_frequency = @@TAKER_QUALIFY_SECONDS@@\n" in aor


# ---- several SIP edges -------------------------------------------------------------------

EDGES = "127.0.0.50:5060,127.0.0.60:5060"


def test_with_two_edges_each_phone_is_reachable_through_either_and_both_are_let_in() -> None:
    text = render(CENTRE, passwords(CENTRE), edge=EDGES)[PJSIP_FILE]
    assert section_body(text, "[taker07](edge-phone-aor)") == (
        "contact = sip:taker07@127.0.0.50:5060\ncontact = sip:taker07@127.0.0.60:5060\n"
    )
    assert section_body(text, "[edge-only]").endswith(
        "permit = 127.0.0.50/255.255.255.255\npermit = 127.0.0.60/255.255.255.255\n"
    )


def test_with_two_edges_each_trunk_goes_out_through_edge_1_or_its_edge_2_endpoint() -> None:
    text = render(CENTRE, passwords(CENTRE), edge=EDGES)[PJSIP_FILE]
    assert sections(text, "trunk-edge-endpoint") == [
        "carrier", "carrier-edge2", "indosat", "indosat-edge2", "telkom", "telkom-edge2",
    ]  # fmt: skip
    assert section_body(text, "[carrier](trunk-edge-endpoint)") == (
        "aors = carrier\noutbound_proxy = sip:127.0.0.50:5060\\;lr\n"
    )
    assert section_body(text, "[carrier-edge2](trunk-edge-endpoint)") == (
        "aors = carrier\noutbound_proxy = sip:127.0.0.60:5060\\;lr\n"
    )
    assert "carrier-edge2-identify" not in text  # the operator's calls are known as `carrier`


def test_two_edges_on_one_address_are_refused() -> None:
    with pytest.raises(CentreEndpointsInvalid, match="each edge needs an address of its own"):
        render(CENTRE, passwords(CENTRE), edge="127.0.0.50:5060,127.0.0.50:5070")
