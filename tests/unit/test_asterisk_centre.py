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
