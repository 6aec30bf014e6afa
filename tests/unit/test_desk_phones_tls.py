"""The desk phones over TLS with SRTP, without Asterisk: the centre's `desk_phones:` setting
(sdes without tls refused, naming the file, line and field), the endpoints it generates
(the desk phones on transport-tls with SDES and no plain fallback; trunks and an agency's
PBX at a fixed address untouched; the test profile's contacts over TLS; the cluster form
refused), the TLS transport scripts/render_conf.py renders (the state folder's certificate,
made once, its key private; a replaced pair used as it is), and the images exposing its port."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.config.asterisk_centre import CentreEndpointsInvalid, loopback_contacts, render, secret_names
from ivr.config.desk_phones import DeskPhones
from ivr.config.loader import ConfigInvalid, load
from ivr.config.schema import CentreConfig
from tests.unit.docker_files import (
    ASTERISK_DOCKERFILE,
    COMPOSE_FILE,
    compose_default,
    conf_value,
    exposed,
    image_env,
    port_of,
    rendered_default,
)

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "queue" / "kendari.yaml"
CENTRE = load(SHIPPED)
TLS_SDES = "\ndesk_phones: {transport: tls, media_encryption: sdes}\n"
DESK_LINES = "transport = transport-tls\nmedia_encryption = sdes\nmedia_encryption_optimistic = no\n"


def with_desk(config: CentreConfig, **desk: str) -> CentreConfig:
    return config.model_copy(update={"desk_phones": DeskPhones.model_validate(desk)})


def endpoint(text: str, name: str) -> str:
    """The lines of the [name](...-endpoint) section."""
    found = re.search(rf"^\[{name}\]\([a-z-]*endpoint\)\n((?:.+\n)*)", text, re.MULTILINE)
    assert found, f"no endpoint {name}"
    return found.group(1)


def generated(config: CentreConfig, static_contacts: bool = False) -> str:
    contacts = loopback_contacts(config) if static_contacts else None
    secrets = {name: f"pw-{name}-0123456789" for name in secret_names(config, contacts)}
    return "".join(render(config, secrets, contacts).values())


# ---- the setting ----------------------------------------------------------------------------


def test_the_desk_phones_default_to_udp_without_srtp_and_accept_tls_with_sdes(tmp_path: Path) -> None:
    assert CENTRE.desk_phones == DeskPhones(transport="udp", media_encryption="none")
    path = tmp_path / "centre.yaml"
    path.write_text(SHIPPED.read_text() + TLS_SDES)
    desk = load(path).desk_phones
    assert (desk.transport, desk.media_encryption, desk.tls) == ("tls", "sdes", True)


@pytest.mark.parametrize(
    ("setting", "field", "message"),
    [
        ("{media_encryption: sdes}", "desk_phones", "sdes needs transport: tls"),
        (
            "{transport: udp, media_encryption: sdes}",
            "desk_phones",
            "SDES sends the SRTP keys inside the SDP",
        ),
        ("{transport: wss}", "desk_phones.transport", "'udp' or 'tls'"),
        ("{transport: tls, media_encryption: dtls}", "desk_phones.media_encryption", "'none' or 'sdes'"),
        ("{transport: tls, srtp: yes}", "desk_phones.srtp", "Extra inputs are not permitted"),
    ],
)
def test_a_wrong_desk_phone_setting_is_refused_naming_the_file_line_and_field(
    tmp_path: Path, setting: str, field: str, message: str
) -> None:
    path = tmp_path / "centre.yaml"
    text = SHIPPED.read_text() + f"\ndesk_phones: {setting}\n"
    path.write_text(text)
    with pytest.raises(ConfigInvalid) as refused:
        load(path)
    [problem] = refused.value.problems
    assert (problem.file, problem.line, problem.field) == (str(path), text.count("\n"), field)
    assert message in problem.message


# ---- the generated endpoints ----------------------------------------------------------------


def test_with_tls_and_sdes_every_desk_phone_is_on_tls_with_srtp_and_no_plain_fallback() -> None:
    text = generated(with_desk(CENTRE, transport="tls", media_encryption="sdes"))
    for name in ("taker01", "taker20", "supervisor", "damkar", "polisi"):
        assert DESK_LINES in endpoint(text, name), name
    # The operators' trunks stay as each operator requires: UDP, plain RTP.
    for trunk in ("carrier", "indosat", "telkom"):
        assert "transport" not in endpoint(text, trunk) and "media_encryption" not in endpoint(text, trunk)


def test_tls_without_sdes_signals_over_tls_and_leaves_the_media_plain() -> None:
    text = generated(with_desk(CENTRE, transport="tls"))
    assert "transport = transport-tls\n" in endpoint(text, "taker05")
    assert "media_encryption" not in text


def test_the_default_writes_what_it_always_wrote() -> None:
    text = generated(CENTRE, static_contacts=True)
    assert "transport-tls" not in text and "media_encryption" not in text
    assert "[taker01](taker-aor)\ncontact = sip:taker01@127.0.0.11:5060\n" in text


def test_an_agency_pbx_at_a_fixed_address_is_not_a_desk_phone() -> None:
    police = CENTRE.agencies[3].model_copy(update={"addresses": {"polisi": "10.20.4.5:5060"}})
    config = with_desk(CENTRE, transport="tls", media_encryption="sdes")
    config = config.model_copy(update={"agencies": [*config.agencies[:3], police]})
    text = generated(config)
    assert "transport" not in endpoint(text, "polisi") and "media_encryption" not in endpoint(text, "polisi")
    assert "contact = sip:polisi@10.20.4.5:5060\n" in text
    assert DESK_LINES in endpoint(text, "damkar")  # the other agencies' phones still register: desk phones


def test_the_test_profile_reaches_each_desk_phone_at_its_loopback_address_over_tls() -> None:
    config = with_desk(CENTRE, transport="tls", media_encryption="sdes")
    text = generated(config, static_contacts=True)
    # A bare ";" would start a comment in Asterisk's file and cut the contact short.
    assert "[taker01](taker-aor)\ncontact = sip:taker01@127.0.0.11:5061\\;transport=tls\n" in text
    assert "contact = sip:supervisor@127.0.0.40:5061\\;transport=tls\n" in text
    assert "[damkar](agency-fixed-aor)\ncontact = sip:damkar@127.0.0.31:5061\\;transport=tls\n" in text
    assert DESK_LINES in endpoint(text, "damkar")
    assert "[carrier]\ntype = aor\ncontact = sip:127.0.0.2:5060\n" in text


def test_the_cluster_form_refuses_desk_phones_over_tls() -> None:
    config = with_desk(CENTRE, transport="tls")
    secrets = {name: "x" * 24 for name in secret_names(config)}
    with pytest.raises(CentreEndpointsInvalid, match="transport tls is not available in the cluster form"):
        render(config, secrets, edge="127.0.0.50:5060")
    assert render(CENTRE, secrets, edge="127.0.0.50:5060")  # UDP, as before


# ---- the TLS transport (scripts/render_conf.py) ----------------------------------------------


def render_conf(dest: Path, state: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "SIP_", "ASTERISK_"))}
    env = keep | {"IVR_STATE_DIR": str(state), "IVR_API_TOKEN": "t"} | extra
    script = REPO / "scripts" / "render_conf.py"
    return subprocess.run([sys.executable, str(script), str(dest)], env=env, capture_output=True, text=True)


def transport(dest: Path) -> dict[str, str]:
    text = (dest / "pjsip.conf").read_text()
    body = re.search(r"^\[transport-tls\]\n((?:[^\[\n].*\n)*)", text, re.MULTILINE)
    assert body, "no [transport-tls] in pjsip.conf"
    return dict(re.findall(r"^(\w+) = (\S+)", body.group(1), re.MULTILINE))


def test_the_tls_transport_gets_a_certificate_made_once_and_a_private_key(tmp_path: Path) -> None:
    state = tmp_path / "state"
    done = render_conf(tmp_path / "etc", state)
    assert done.returncode == 0, done.stderr
    assert "made a self-signed SIP TLS certificate" in done.stderr  # said at the start that made it
    cert, key = state / "tls" / "sip.crt", state / "tls" / "sip.key"
    assert key.stat().st_mode & 0o777 == 0o600 and (state / "tls").stat().st_mode & 0o777 == 0o700
    assert transport(tmp_path / "etc") == {
        "type": "transport",
        "protocol": "tls",
        "bind": "127.0.0.1:5061",
        "cert_file": "/etc/asterisk/sip-tls.crt",
        "priv_key_file": "/etc/asterisk/sip-tls.key",
        "method": "sslv23",  # every version OpenSSL allows: 1.2 and 1.3 (tests/integration/test_sip_tls.py)
    }
    assert (tmp_path / "etc" / "sip-tls.crt").read_bytes() == cert.read_bytes()
    assert (tmp_path / "etc" / "sip-tls.key").read_bytes() == key.read_bytes()
    assert (tmp_path / "etc" / "sip-tls.key").stat().st_mode & 0o777 == 0o640  # Asterisk's group reads it

    again = render_conf(tmp_path / "etc2", state, SIP_TLS_BIND="10.1.2.3:5061", ASTERISK_NODE="a1")
    assert again.returncode == 0 and "self-signed" not in again.stderr, again.stderr
    assert (tmp_path / "etc2" / "sip-tls.crt").read_bytes() == cert.read_bytes()  # the same one
    assert transport(tmp_path / "etc2")["bind"] == "10.1.2.3:5061"
    # a node of the cluster form reads its own configuration folder
    assert transport(tmp_path / "etc2")["cert_file"] == "/etc/asterisk-a1/sip-tls.crt"


def test_the_centres_own_certificate_is_used_and_half_a_pair_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / "tls").mkdir(parents=True)
    own = b"-----BEGIN CERTIFICATE-----\nthe centre's own\n-----END CERTIFICATE-----\n"
    (state / "tls" / "sip.crt").write_bytes(own)
    refused = render_conf(tmp_path / "etc", state)
    assert refused.returncode != 0 and "sip.key is not" in refused.stderr, refused.stderr
    assert not (tmp_path / "etc").exists()
    (state / "tls" / "sip.key").write_bytes(
        b"-----BEGIN PRIVATE KEY-----\nits key\n-----END PRIVATE KEY-----\n"
    )
    done = render_conf(tmp_path / "etc", state)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "etc" / "sip-tls.crt").read_bytes() == own


def test_the_images_expose_the_tls_port_of_pjsip_conf() -> None:
    assert conf_value("pjsip.conf", "transport-tls", "protocol") == "tls"
    name, default = rendered_default("pjsip.conf", "transport-tls", "bind")
    port = port_of(default)
    assert f"{port}/tcp" in exposed(ASTERISK_DOCKERFILE), f"{ASTERISK_DOCKERFILE} does not EXPOSE {port}/tcp"
    assert port_of(image_env(ASTERISK_DOCKERFILE).get(name, default)) == port, ASTERISK_DOCKERFILE
    assert port_of(compose_default("asterisk", name)) == port, COMPOSE_FILE
