"""The centre's SIP endpoints come from the centre configuration alone: a call taker
added to queue/*.yaml becomes a phone with its own password and a member of the
native fallback queue; one removed disappears from both; trunk numbers need no
endpoint; a name used for two roles, a name Asterisk cannot hold, or a phone without
a password is refused with a message naming it."""

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
    render,
    secret_names,
)
from ivr.config.loader import load
from ivr.config.schema import AgentConfig, CentreConfig

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


def test_a_taker_added_or_removed_in_the_centre_file_follows_in_both_files() -> None:
    added = CENTRE.model_copy(
        update={
            "agents": [
                *CENTRE.agents[1:],
                AgentConfig(id="taker21", name="Ibu Sari", endpoint="PJSIP/taker21", employment="contract"),
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
    odd = [CENTRE.agents[0].model_copy(update={"endpoint": "PJSIP/taker.01"}), *CENTRE.agents[1:]]
    with pytest.raises(CentreEndpointsInvalid, match=re.escape("'PJSIP/taker.01'")):
        secret_names(CENTRE.model_copy(update={"agents": odd}))


def test_loopback_profile_contacts() -> None:
    contacts = loopback_contacts(CENTRE)
    assert contacts["taker01"] == "127.0.0.11:5060" and contacts["taker20"] == "127.0.0.30:5060"
    assert contacts["supervisor"] == "127.0.0.40:5060" and contacts["polisi"] == "127.0.0.34:5060"
    text = render(CENTRE, passwords(CENTRE), contacts)[PJSIP_FILE]
    assert "[damkar](agency-aor)\ncontact = sip:damkar@127.0.0.31:5060\n" in text
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
