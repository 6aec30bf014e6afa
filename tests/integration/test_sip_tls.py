"""The desk phones over TLS with SRTP, on the real stack: with the centre's
`desk_phones: {transport: tls, media_encryption: sdes}` a call taker's phone registers over
TLS with its digest password, a 112 call from the operator's (UDP) trunk reaches it over
TLS and the caller's voice reaches it as SRTP only, and a phone that answers without an
SRTP key is refused (the caller goes to the next call taker). The phones are a TLS SIPp
from a Debian sid root (tests/integration/tls_phones.py); the carrier is the usual UDP SIPp.
The test profile (UDP, plain RTP) is put back at the end."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.loopback_sniffer import LoopbackSniffer, rtp_payload
from tests.integration.stack import (
    ASTERISK_ROOT,
    ASTERISK_SIP,
    CARRIER_IP,
    REPO,
    SIPP_DIR,
    Process,
    Stack,
    centre_config,
    place_call,
    taker_ip,
    wait_for,
)
from tests.integration.tls_phones import ASTERISK_TLS, TlsSipp, build_root, srtp_key, tls_sipp

pytestmark = pytest.mark.integration

DESK_TLS = "\ndesk_phones: {transport: tls, media_encryption: sdes}\n"
SRTP_PACKET = 12 + 160 + 10  # RTP header, 20 ms of A-law, the 80-bit auth tag of AES_CM_128_HMAC_SHA1_80


def apply(stack: Stack, config: Path) -> None:
    env = stack.env | {
        "IVR_CENTRE_CONFIG": str(config),
        "IVR_ASTERISK_ETC": str(ASTERISK_ROOT / "etc/asterisk"),
    }
    done = subprocess.run([sys.executable, "-m", "ivr", "config", "apply"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def fixed_contact(aor: str) -> str:
    """The AOR's permanent contact, whole (the CLI's contact list cuts long URIs short)."""
    found = re.search(r"^\s*contact\s+:\s*(\S*)", Stack.cli(f"pjsip show aor {aor}"), re.MULTILINE)
    return found.group(1) if found else ""


def registered(aor: str) -> list[str]:
    """The URIs of the AOR's registered contacts (Asterisk's database, whole)."""
    shown = Stack.cli("database show registrar")
    return re.findall(rf'^/registrar/contact/{aor};@\S+\s*:.*"uri":"([^"]+)"', shown, re.MULTILINE)


@pytest.fixture(scope="module")
def tls_centre(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The shipped centre file with the desk phones on TLS and SRTP, applied (test profile:
    each phone's fixed loopback contact on port 5061 over TLS); the shipped one after."""
    build_root()
    folder = tmp_path_factory.mktemp("tls-centre")
    shipped = centre_config(folder)
    tls = folder / "centre-tls.yaml"
    tls.write_text(shipped.read_text() + DESK_TLS)
    apply(stack, tls)
    try:
        assert fixed_contact("taker01") == "sip:taker01@127.0.0.11:5061;transport=tls"
        yield tls
    finally:
        apply(stack, shipped)
        wait_for(
            lambda: fixed_contact("taker01") == "sip:taker01@127.0.0.11:5060", 10, "the test profile back"
        )


@pytest.fixture
def tls(request: pytest.FixtureRequest) -> Iterator[TlsSipp]:
    with tls_sipp(request.node.name[:40]) as found:
        yield found


def tls_phone(stack: Stack, tls: TlsSipp, taker: str, scenario: str, *extra: str) -> Process:
    """The taker's desk phone over TLS at its test-profile contact, answering every call."""
    ip = taker_ip(taker)
    phone = tls.start(scenario, taker, "-i", ip, "-p", "5061", "-mi", ip, "-aa", "-trace_msg",
                      "-message_file", f"{taker}_messages.log", *extra)  # fmt: skip
    wait_for(
        lambda: stack.endpoint_state(taker) == "online" or not phone.alive(),
        15,
        f"{taker} reachable over TLS",
    )
    assert phone.alive(), f"{taker}'s TLS SIPp exited:\n{phone.output()}"
    return phone


def test_the_tls_transport_speaks_tls_1_2_and_1_3_only_with_the_state_folders_certificate(
    stack: Stack,
) -> None:
    tls_dir = Path(stack.env["IVR_STATE_DIR"]) / "tls"
    assert (tls_dir / "sip.key").stat().st_mode & 0o777 == 0o600

    def handshake(*options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["openssl", "s_client", "-connect", ASTERISK_TLS, *options], input="",
                              capture_output=True, text=True, timeout=20)  # fmt: skip

    shown = handshake("-tls1_2", "-showcerts")
    assert shown.returncode == 0 and re.search(r"Protocol\s*:\s*TLSv1\.2", shown.stdout), shown.stdout
    fingerprint = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256"], input=shown.stdout,
                                 capture_output=True, text=True, check=True).stdout  # fmt: skip
    cert = str(tls_dir / "sip.crt")
    ours = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", cert],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert fingerprint == ours
    newest = handshake("-tls1_3")
    assert newest.returncode == 0 and re.search(r"New, TLSv1\.3, Cipher is TLS_", newest.stdout), (
        newest.stdout
    )
    old = handshake("-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    assert old.returncode != 0, old.stdout


def test_a_desk_phone_registers_over_tls_with_its_digest_password(
    stack: Stack, tls_centre: Path, tls: TlsSipp
) -> None:
    password = (Path(stack.env["IVR_STATE_DIR"]) / "secrets" / "sip_taker09").read_text().strip()
    ip = taker_ip("taker09")

    def register(secret: str, contact: str, expires: int, log: str) -> tuple[int, str]:
        return tls.run("register_as.xml", log, ASTERISK_TLS, "-s", "taker09", "-au", "taker09", "-ap", secret,
                       "-key", "contact", contact, "-key", "expires", str(expires),
                       "-i", ip, "-p", "5071", "-m", "1", "-timeout", "15", "-timeout_error")  # fmt: skip

    contact = f"<sip:taker09@{ip}:5071;transport=tls>"
    code, errors = register(password + "x", contact, 60, "wrong")
    assert code != 0 and "SIP/2.0 401 Unauthorized" in errors, errors
    code, errors = register(password, contact, 60, "right")
    assert code == 0, errors
    assert registered("taker09") == [f"sip:taker09@{ip}:5071;transport=tls"]
    assert register(password, "*", 0, "unregister")[0] == 0
    assert registered("taker09") == []


def test_a_desk_phone_registered_over_udp_is_only_ever_reached_over_tls(
    stack: Stack, tls_centre: Path, tmp_path: Path
) -> None:
    # Asterisk takes the REGISTER (pjsip checks the transport only of what it sends), then
    # qualifies and would call that contact over TLS: the UDP phone never shows reachable.
    password = (Path(stack.env["IVR_STATE_DIR"]) / "secrets" / "sip_taker08").read_text().strip()
    ip = taker_ip("taker08")
    answering = ["sipp", "-sf", str(SIPP_DIR / "phone_answers.xml"), "-i", ip, "-p", "5072", "-mi", ip,
                 "-aa", "-nostdin"]  # fmt: skip
    Process(answering, tmp_path / "udp_phone.out", cwd=tmp_path)
    args = ["sipp", ASTERISK_SIP, "-sf", str(SIPP_DIR / "register_as.xml"), "-s", "taker08", "-au", "taker08",
            "-ap", password, "-key", "contact", f"<sip:taker08@{ip}:5072>", "-key", "expires", "60",
            "-i", ip, "-p", "5073", "-m", "1", "-nostdin", "-timeout", "15", "-timeout_error"]  # fmt: skip
    try:
        with LoopbackSniffer() as sniffer:
            assert subprocess.run(args, capture_output=True, cwd=tmp_path, timeout=40).returncode == 0
            assert registered("taker08") == [f"sip:taker08@{ip}:5072"]
            time.sleep(3)  # qualify runs every second in the test profile
        assert stack.endpoint_state("taker08") != "online"
        assert not [d for d in sniffer.to(ip, 5072) if d.payload.startswith(b"OPTIONS")], "qualified over UDP"
    finally:
        args[args.index("expires") + 1] = "0"
        args[args.index("contact") + 1] = "*"
        subprocess.run(args, capture_output=True, cwd=tmp_path, timeout=40)
    assert registered("taker08") == []


def test_a_112_call_reaches_the_taker_over_tls_and_its_voice_as_srtp_only(
    stack: Stack,
    tls_centre: Path,
    tls: TlsSipp,
    control_plane: Callable[..., Process],
    media: Path,
) -> None:
    control_plane(["taker01"], IVR_CENTRE_CONFIG=str(tls_centre))
    phone = tls_phone(stack, tls, "taker01", "phone_answers_srtp.xml", "-key", "srtp_key", srtp_key())
    ip = taker_ip("taker01")
    before = stack.call_ids()
    with LoopbackSniffer() as sniffer:
        call = place_call(media, "112", hold_ms=6000)
        assert call.popen.returncode == 0, call.output()
        record = stack.wait_ended(stack.new_call_id(before), timeout=15)
    assert record["outcome"] == "answered" and record["taker"] == "taker01", record

    # Signalling: over TLS only, to the phone's TLS contact, with an SRTP offer.
    messages = tls.path("taker01_messages.log").read_text(errors="replace")
    assert f"INVITE sip:taker01@{ip}:5061;transport=tls SIP/2.0" in messages, messages[:2000]
    assert "Via: SIP/2.0/TLS" in messages and "RTP/SAVP" in messages and "a=crypto:" in messages
    call_over_udp = [
        d for d in sniffer.to(ip) if d.payload.startswith((b"INVITE", b"ACK", b"BYE", b"CANCEL"))
    ]
    assert not call_over_udp, "the call's SIP requests went to the phone over UDP"
    phone.stop()

    # Media: every RTP packet to the phone is SRTP (the auth tag makes it 182 bytes, not
    # 172), and none carries the caller's audio as it was sent.
    to_phone = [d for d in sniffer.to(ip) if rtp_payload(d) is not None]
    assert len(to_phone) >= 100, f"{len(to_phone)} RTP packets reached the phone"
    assert {len(d.payload) for d in to_phone} == {SRTP_PACKET}
    spoken = {rtp_payload(d) for d in sniffer.seen if d.src[0] == CARRIER_IP}
    assert len(spoken) >= 100
    assert not [d for d in to_phone if d.payload[12:172] in spoken], "the caller's audio in clear"


def test_a_phone_answering_without_srtp_is_refused_and_the_next_taker_answers(
    stack: Stack,
    tls_centre: Path,
    tls: TlsSipp,
    control_plane: Callable[..., Process],
    media: Path,
) -> None:
    # A phone that answers the SRTP offer with plain RTP would get no audio from Asterisk
    # (media_encryption_optimistic = no): caller and taker would hear nothing. The control
    # plane checks CHANNEL(rtp,secure) before it bridges: that leg is hung up, never bridged,
    # and the caller goes to the next call taker, whose phone speaks SRTP.
    control_plane(["taker02", "taker03"], IVR_CENTRE_CONFIG=str(tls_centre))  # taker02 idle longest
    tls.copy_in(media / "taker.alaw")
    tls_phone(stack, tls, "taker02", "phone_answers.xml")  # plain RTP/AVP, no a=crypto
    tls_phone(stack, tls, "taker03", "phone_answers_srtp.xml", "-key", "srtp_key", srtp_key())
    plain = taker_ip("taker02")
    before = stack.call_ids()
    with LoopbackSniffer() as sniffer:
        call = place_call(media, "112", hold_ms=6000)
        assert call.popen.returncode == 0, call.output()
        record = stack.wait_ended(stack.new_call_id(before), timeout=15)
    assert record["outcome"] == "answered" and record["taker"] == "taker03", record
    entries = [(e["entry"], e.get("taker")) for e in record["timeline"]]
    assert ("offer-failed", "taker02") in entries and ("taker-answered", "taker03") in entries, entries
    assert ("taker-answered", "taker02") not in entries, entries  # never counted as answered there
    messages = tls.path("taker02_messages.log").read_text(errors="replace")
    assert "a=crypto:" in messages and "RTP/AVP 8 101" in messages  # offered SRTP, answered plain
    assert not [d for d in sniffer.to(plain) if rtp_payload(d) is not None], "RTP to the phone without SRTP"
    to_srtp = [d for d in sniffer.to(taker_ip("taker03")) if rtp_payload(d) is not None]
    assert len(to_srtp) >= 100 and {len(d.payload) for d in to_srtp} == {SRTP_PACKET}
