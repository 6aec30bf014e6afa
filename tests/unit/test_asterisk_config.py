# The shipped Asterisk configuration agrees with itself and with the control plane:
# rendered (scripts/render_conf.py) and completed with the centre's endpoints
# (`python -m ivr config apply`), the phones, the native fallback queue and the takers of
# the shipped centre configuration (queue/kendari.yaml) are the same list, and every
# endpoint the centre rings exists; every placeholder is rendered, secrets stay out of
# the repo (stored, stable across renders), the test profile gets static contacts,
# and refuses an unknown placeholder without touching the live folder; the trunk
# dialplan routes exactly the emergency numbers (checked with a small Asterisk `_`
# pattern matcher written here) and taker phones reach the control plane's feature codes.
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.adapters.ari.translate import CALLER_ARG
from ivr.config.loader import load

REPO = Path(__file__).resolve().parents[2]
RENDER = REPO / "scripts" / "render_conf.py"
ARI_PASSWORD = "render-test-ari-pass-9x"
EMERGENCY = {"110", "112", "113", "115", "118", "119"}
TAKERS = [f"taker{n:02d}" for n in range(1, 21)]
CENTRE = load(REPO / "queue" / "kendari.yaml")


def section(text: str, name: str) -> list[str]:
    """The lines of one [name] section of an Asterisk .conf file (comments dropped)."""
    lines, inside = [], False
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].rstrip()
        if line.startswith("["):
            inside = line.startswith(f"[{name}]")
            continue
        if inside and line.strip():
            lines.append(line.strip())
    return lines


def generated(dest: Path) -> str:
    return (dest / "centre" / "pjsip_centre.conf").read_text()


def pjsip_endpoints(dest: Path, template: str) -> list[str]:
    return re.findall(rf"^\[([a-z0-9]+)\]\({template}\)", generated(dest), re.MULTILINE)


def queue_members(dest: Path) -> list[str]:
    text = (dest / "queues.conf").read_text()
    text = text.replace(
        '#include "centre/queues_centre.conf"', (dest / "centre" / "queues_centre.conf").read_text()
    )
    members = [line for line in section(text, "takers-fallback") if line.startswith("member")]
    return [re.fullmatch(r"member\s*=>\s*PJSIP/([^,]+),.*", m).group(1) for m in members]  # type: ignore[union-attr]


def test_takers_agree_across_pjsip_queue_and_centre_config(rendered: tuple[Path, Path]) -> None:
    dest, _ = rendered
    takers = [t for t in pjsip_endpoints(dest, "taker-endpoint") if re.fullmatch(r"taker\d\d", t)]
    assert takers == TAKERS
    assert queue_members(dest) == TAKERS
    assert [a.endpoint for a in CENTRE.takers] == [f"PJSIP/{t}" for t in TAKERS]
    # Every phone that registers like a taker's has an AOR of the same name.
    assert pjsip_endpoints(dest, "taker-aor") == pjsip_endpoints(dest, "taker-endpoint")
    # pjsip.conf and queues.conf include the generated lists, and hold no list of their own.
    assert '#include "centre/pjsip_centre.conf"' in (dest / "pjsip.conf").read_text()
    assert "(taker-endpoint)" not in (dest / "pjsip.conf").read_text().replace("[taker-endpoint](!)", "")
    assert "member =>" not in (dest / "queues.conf").read_text()


def test_every_endpoint_the_centre_rings_is_declared_in_pjsip(rendered: tuple[Path, Path]) -> None:
    dest, _ = rendered
    phones = [
        *pjsip_endpoints(dest, "taker-endpoint"),
        *pjsip_endpoints(dest, "agency-endpoint"),
        *pjsip_endpoints(dest, "agency-fixed-endpoint"),
    ]
    declared = {f"PJSIP/{e}" for e in phones}
    wanted = {t.endpoint for t in CENTRE.overflow_targets.values()}
    wanted |= {e for agency in CENTRE.agencies for e in agency.endpoints}
    wanted |= {a.endpoint for a in CENTRE.takers}
    assert wanted - declared == set()


def render_env(state: Path, **extra: str) -> dict[str, str]:
    placeholders = {
        "SIP_BIND",
        "SIP_TLS_BIND",
        "CARRIER_ADDRESS",
        "CARRIER_MATCH",
        "RTP_STRICT",
        "ASTERISK_HTTP_PORT",
    }
    placeholders |= {"RTP_START", "RTP_END", "ASTERISK_NODE"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_") and k not in placeholders}
    env |= {"IVR_STATE_DIR": str(state), "IVR_ARI_PASSWORD": ARI_PASSWORD, "IVR_STATIC_CONTACTS": "yes"}
    return env | extra


def render(script: Path, dest: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """render_conf.py, then the centre's endpoints (as asterisk-start.sh does)."""
    done = subprocess.run(
        [sys.executable, str(script), str(dest)], env=env, capture_output=True, text=True, timeout=60
    )
    if done.returncode:
        return done
    apply = [sys.executable, "-m", "ivr", "config", "apply", "--no-reload", "--asterisk-etc", str(dest)]
    env = env | {"IVR_CENTRE_CONFIG": str(REPO / "queue" / "kendari.yaml")}
    return subprocess.run(apply, env=env, capture_output=True, text=True, timeout=60, cwd=REPO)


def auth_passwords(folder: Path) -> dict[str, str]:
    text = generated(folder)
    return dict(re.findall(r"^\[(\S+)-auth\]\n(?:.*\n)*?password = (\S+)$", text, re.MULTILINE))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("render")
    state, dest = base / "state", base / "etc-asterisk"
    done = render(RENDER, dest, render_env(state))
    assert done.returncode == 0, done.stderr
    return dest, state


def test_every_placeholder_is_rendered(rendered: tuple[Path, Path]) -> None:
    dest, _ = rendered
    names = {p.name for p in dest.iterdir()}
    sources = {p.name for folder in ("asterisk-conf", "dialplan") for p in (REPO / folder).glob("*.conf")}
    made = {
        "ari_users.conf",
        "manager_users.conf",
        "prometheus_users.conf",
        "sip-tls.crt",
        "sip-tls.key",
        "centre",
    }
    assert sources | made == names
    leftovers = [p.name for p in dest.rglob("*.conf") if "@@" in p.read_text()]
    assert leftovers == []
    assert "ARI_APP = ivr112" in (dest / "extensions.conf").read_text()


def test_ami_listens_on_loopback_with_a_generated_secret_for_loopback_only(
    rendered: tuple[Path, Path],
) -> None:
    dest, state = rendered
    assert "bindaddr = 127.0.0.1" in (dest / "manager.conf").read_text()
    users = (dest / "manager_users.conf").read_text()
    secret = (state / "secrets" / "ami_password").read_text().strip()
    assert f"secret = {secret}" in users and len(secret) >= 16
    assert "deny = 0.0.0.0/0.0.0.0" in users and "permit = 127.0.0.0/255.0.0.0" in users
    assert "secret" not in (REPO / "asterisk-conf" / "manager.conf").read_text().split("[general]")[1]


def test_asterisk_metrics_are_on_and_need_the_generated_password(rendered: tuple[Path, Path]) -> None:
    dest, state = rendered
    general = section((dest / "prometheus.conf").read_text(), "general")
    assert {"enabled = yes", "uri = metrics", '#include "prometheus_users.conf"'} <= set(general)
    assert general[-1] == '#include "prometheus_users.conf"'  # continues [general]
    secret = (state / "secrets" / "asterisk_metrics_password").read_text().strip()
    assert len(secret) >= 16
    assert (dest / "prometheus_users.conf").read_text().splitlines() == [
        "auth_username = prometheus",
        f"auth_password = {secret}",
    ]
    modules = (dest / "modules.conf").read_text()
    assert not re.search(r"^noload\s*=\s*res_prometheus\.so", modules, re.MULTILINE)
    committed = section((REPO / "asterisk-conf" / "prometheus.conf").read_text(), "general")
    assert [line for line in committed if line.startswith("auth_")] == [
        "auth_realm = Kendari 112 Asterisk metrics"
    ]


def test_ari_user_gets_the_given_password(rendered: tuple[Path, Path]) -> None:
    dest, _ = rendered
    assert section((dest / "ari_users.conf").read_text(), "ivr112") == [
        "type = user",
        "read_only = no",
        f"password = {ARI_PASSWORD}",
    ]


def committed_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("git is not available to list the committed files")
    return [REPO / name for name in listed.decode().split("\0") if name and (REPO / name).is_file()]


def test_each_taker_phone_gets_its_own_stored_sip_password(rendered: tuple[Path, Path]) -> None:
    dest, state = rendered
    passwords = auth_passwords(dest)
    assert sorted(passwords) == sorted(pjsip_endpoints(dest, "taker-endpoint"))
    assert set(TAKERS) | {"supervisor"} <= set(passwords)
    assert len(set(passwords.values())) == len(passwords)
    assert all(len(p) >= 16 for p in passwords.values())
    # Kept only in the state folder, readable by its owner alone.
    for taker, password in passwords.items():
        secret = state / "secrets" / f"sip_{taker}"
        assert secret.read_text().strip() == password
        assert secret.stat().st_mode & 0o777 == 0o600


def test_no_rendered_password_is_committed(rendered: tuple[Path, Path]) -> None:
    dest, _ = rendered
    passwords = auth_passwords(dest)  # generated; the ARI one here is given by this test
    for path in committed_files():
        content = path.read_bytes()
        leaked = [who for who, p in passwords.items() if p.encode() in content]
        assert leaked == [], f"{path.relative_to(REPO)} holds the password of {leaked}"


@pytest.mark.parametrize(
    ("aor", "contact"),
    [
        ("taker07", "sip:taker07@127.0.0.17:5060"),
        ("taker01", "sip:taker01@127.0.0.11:5060"),
        ("taker20", "sip:taker20@127.0.0.30:5060"),
        ("damkar", "sip:damkar@127.0.0.31:5060"),
        ("supervisor", "sip:supervisor@127.0.0.40:5060"),
    ],
)
def test_static_contacts(rendered: tuple[Path, Path], aor: str, contact: str) -> None:
    dest, _ = rendered
    text = generated(dest)
    assert re.search(
        rf"^\[{aor}\]\((?:taker|agency-fixed)-aor\)\ncontact = {re.escape(contact)}$", text, re.MULTILINE
    )
    assert len(re.findall(rf"^contact = sip:{aor}@", text, re.MULTILINE)) == 1


def test_rerender_keeps_taker_passwords_and_a_new_state_makes_new_ones(
    rendered: tuple[Path, Path], tmp_path: Path
) -> None:
    dest, state = rendered
    again = tmp_path / "again"
    assert render(RENDER, again, render_env(state)).returncode == 0
    assert auth_passwords(again) == auth_passwords(dest)
    other = tmp_path / "other"
    assert render(RENDER, other, render_env(tmp_path / "state2")).returncode == 0
    assert set(auth_passwords(other).values()).isdisjoint(auth_passwords(dest).values())


def test_stored_ari_password_when_none_is_given(tmp_path: Path) -> None:
    env = render_env(tmp_path / "state")
    del env["IVR_ARI_PASSWORD"]
    assert render(RENDER, tmp_path / "a", env).returncode == 0
    assert render(RENDER, tmp_path / "b", env).returncode == 0
    first, second = ((tmp_path / d / "ari_users.conf").read_text() for d in ("a", "b"))
    assert first == second
    assert ARI_PASSWORD not in first
    assert (tmp_path / "state" / "secrets" / "ari_password").read_text().strip() in first


def test_unknown_placeholder_fails_naming_file_and_line_and_keeps_live_folder(tmp_path: Path) -> None:
    # A copy of the script in a fake repo (the script finds its sources next to itself).
    fake = tmp_path / "repo"
    (fake / "scripts").mkdir(parents=True)
    shutil.copy(RENDER, fake / "scripts" / "render_conf.py")
    shutil.copytree(REPO / "asterisk-conf", fake / "asterisk-conf")
    (fake / "dialplan").mkdir()
    (fake / "dialplan" / "extensions.conf").write_text("[general]\n; fine\nx = @@NOT_A_SETTING@@\n")
    live = tmp_path / "etc-asterisk"
    live.mkdir()
    (live / "extensions.conf").write_text("; the running configuration\n")
    done = render(fake / "scripts" / "render_conf.py", live, render_env(tmp_path / "state"))
    assert done.returncode != 0
    assert "dialplan/extensions.conf:3" in done.stderr
    assert "@@NOT_A_SETTING@@" in done.stderr
    assert (live / "extensions.conf").read_text() == "; the running configuration\n"


# ---- the cluster form: nodes and the SIP edge -------------------------------------


def render_only(dest: Path, state: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """render_conf.py alone (no endpoints)."""
    return subprocess.run([sys.executable, str(RENDER), str(dest)], env=render_env(state, **extra),
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_the_single_node_form_keeps_the_repos_asterisk_conf_and_its_sip_doors(
    rendered: tuple[Path, Path],
) -> None:
    dest, _ = rendered
    assert (dest / "asterisk.conf").read_text() == (REPO / "asterisk-conf" / "asterisk.conf").read_text()
    assert "endpoint_identifier_order = ip,username" in section((dest / "pjsip.conf").read_text(), "global")
    assert section((dest / "rtp.conf").read_text(), "general")[:2] == ["rtpstart = 10000", "rtpend = 20000"]


def test_a_node_gets_its_name_and_folders_of_its_own(tmp_path: Path) -> None:
    """systemname makes every channel id start with "a1-"; what a node writes stays its own."""
    done = render_only(
        tmp_path / "etc", tmp_path / "state", ASTERISK_NODE="a1", RTP_START="15000", RTP_END="19999"
    )
    assert done.returncode == 0, done.stderr
    conf = (tmp_path / "etc" / "asterisk.conf").read_text()
    assert section(conf, "directories") == [
        "astetcdir => /etc/asterisk-a1",
        "astdbdir => /var/lib/asterisk-a1",
        "astspooldir => /var/spool/asterisk-a1",
        "astrundir => /run/asterisk-a1",
        "astlogdir => /var/log/asterisk-a1",
        "astcachedir => /var/cache/asterisk-a1",
    ]
    options = section(conf, "options")
    assert options[0] == "systemname = a1"
    assert options[1:] == section((REPO / "asterisk-conf" / "asterisk.conf").read_text(), "options")
    assert section((tmp_path / "etc" / "rtp.conf").read_text(), "general")[:2] == [
        "rtpstart = 15000",
        "rtpend = 19999",
    ]


@pytest.mark.parametrize(
    ("extra", "refusal"),
    [
        ({"ASTERISK_NODE": "A1"}, "ASTERISK_NODE 'A1'"),
        ({"ASTERISK_NODE": "node-one"}, "ASTERISK_NODE 'node-one'"),
        ({"RTP_START": "20000", "RTP_END": "10000"}, "RTP_START '20000' and RTP_END '10000'"),
        ({"RTP_START": "x"}, "RTP_START 'x'"),
        ({"IVR_SIP_EDGE": "edge.example:5060"}, "IVR_SIP_EDGE 'edge.example:5060'"),
        ({"IVR_SIP_EDGE": "127.0.0.50"}, "IVR_SIP_EDGE '127.0.0.50'"),
    ],
)
def test_a_bad_node_setting_is_refused_naming_it(tmp_path: Path, extra: dict[str, str], refusal: str) -> None:
    done = render_only(tmp_path / "etc", tmp_path / "state", **extra)
    assert done.returncode != 0 and refusal in done.stderr
    assert not (tmp_path / "etc").exists()


def test_behind_an_edge_the_edges_header_identifies_first(tmp_path: Path) -> None:
    done = render_only(tmp_path / "etc", tmp_path / "state", IVR_SIP_EDGE="127.0.0.50:5060")
    assert done.returncode == 0, done.stderr
    pjsip = (tmp_path / "etc" / "pjsip.conf").read_text()
    assert "endpoint_identifier_order = header,ip,username" in section(pjsip, "global")


# ---- the dialplan ------------------------------------------------------------------

CLASSES = {"X": "0-9", "Z": "1-9", "N": "2-9"}


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """An Asterisk extension pattern as a regex: '_' patterns with X Z N [..] . and !."""
    if not pattern.startswith("_"):
        return re.compile(re.escape(pattern))
    out, rest = [], pattern[1:]
    while rest:
        char, rest = rest[0], rest[1:]
        if char.upper() in CLASSES:
            out.append(f"[{CLASSES[char.upper()]}]")
        elif char == "[":
            body, _, rest = rest.partition("]")
            out.append(f"[{body}]")
        elif char in ".!":
            out.append(".+" if char == "." else ".*")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out))


def specificity(pattern: str) -> list[int]:
    """Asterisk tries the most specific match first: per position, the fewer choices the better."""
    if not pattern.startswith("_"):
        return [0]
    sizes, rest = [], pattern[1:]
    while rest:
        char, rest = rest[0], rest[1:]
        if char == "[":
            body, _, rest = rest.partition("]")
            sizes.append(len(re.sub(r"(.)-(.)", lambda m: "x" * (ord(m[2]) - ord(m[1]) + 1), body)))
        else:
            sizes.append({"X": 10, "Z": 9, "N": 8, ".": 1000, "!": 1001}.get(char.upper(), 1))
    return sizes


def context(name: str) -> dict[str, list[str]]:
    """Extension (pattern) -> the applications of its priorities, from dialplan/extensions.conf."""
    extens: dict[str, list[str]] = {}
    current = ""
    for line in section((REPO / "dialplan" / "extensions.conf").read_text(), name):
        if match := re.fullmatch(r"exten\s*=>\s*([^,]+),[^,]+,(.*)", line):
            current = match[1]
            extens[current] = [match[2]]
        elif match := re.fullmatch(r"same\s*=>\s*[^,]+,(.*)", line):
            extens[current].append(match[1])
    return extens


def matches(pattern: str, exten: str) -> bool:
    return pattern_regex(pattern).fullmatch(exten) is not None


def best(name: str, exten: str) -> list[str]:
    """The applications Asterisk runs for exten in context name (most specific match)."""
    extens = context(name)
    found = sorted((p for p in extens if p not in ("i", "s") and matches(p, exten)), key=specificity)
    return extens[found[0]] if found else extens.get("i", [])


def route(exten: str) -> str:
    """Where the carrier trunk sends a dialled number: 'emergency' or 'refused'."""
    apps = best("from-trunk", exten)
    for app in apps:
        if app.startswith("Goto(emergency,112,"):
            return "emergency"
        if app == "Goto(from-trunk,${EXTEN:1},1)":
            return route(exten[1:])
        if app.startswith("Hangup("):
            return "refused"
    raise AssertionError(f"{exten}: no routing decision in {apps}")


@pytest.mark.parametrize(
    ("pattern", "exten", "expected"),
    [
        ("_11[023589]", "112", True),
        ("_11[023589]", "111", False),
        ("_11[0-2]", "112", True),
        ("_X.", "7", False),
        ("_X.", "77", True),
        ("_+X.", "+112", True),
        ("_NXX", "199", False),
        ("_ZX!", "57", True),
        ("_Z!", "5", True),
        ("_*XX", "*11", True),
        ("112", "112", True),
        ("112", "1120", False),
    ],
)
def test_the_pattern_matcher_itself(pattern: str, exten: str, expected: bool) -> None:
    assert matches(pattern, exten) is expected


def test_only_the_emergency_numbers_enter_the_emergency_path() -> None:
    trunk = context("from-trunk")
    to_emergency = [p for p, apps in trunk.items() if any(a.startswith("Goto(emergency,") for a in apps)]
    assert len(to_emergency) == 1
    numbers = (f"{n:0{width}d}" for width in range(1, 5) for n in range(10**width))
    assert {n for n in numbers if matches(to_emergency[0], n)} == EMERGENCY


@pytest.mark.parametrize(
    ("dialled", "expected"),
    [
        *((n, "emergency") for n in sorted(EMERGENCY)),
        *((n, "refused") for n in ("111", "114", "116", "117", "1120", "11", "911", "999", "08123456789")),
        ("+112", "emergency"),
        ("+111", "refused"),
    ],
)
def test_trunk_routes_dialled_numbers(dialled: str, expected: str) -> None:
    assert route(dialled) == expected


def test_emergency_path_keeps_the_dialled_number_and_enters_our_app_as_caller() -> None:
    trunk = context("from-trunk")
    (pattern,) = (p for p, apps in trunk.items() if any(a.startswith("Goto(emergency,") for a in apps))
    assert trunk[pattern][0] == "Set(__EMERGENCY_DIALLED=${EXTEN})"
    emergency = context("emergency")["112"]
    # answered before the control plane hears of it, then handed over with the privacy mark
    stasis = emergency.index(
        f"Stasis(${{ARI_APP}},{CALLER_ARG},${{EMERGENCY_DIALLED}},${{IVR_NUMBER}},${{IVR_RECORDED}})"
    )
    # answered without waiting for the caller's first audio frame (a line that sends none
    # would reach Stasis 0.5 s later)
    answer = emergency.index("Answer(,i)")
    assert answer < stasis
    # recorded from the answer, before the control plane hears of the call (every path)
    record = emergency.index("MixMonitor(${ASTSPOOLDIR}/recording/${UNIQUEID}.wav)")
    assert answer < record < stasis
    assert any(a.startswith("Set(__IVR_NUMBER=") and "withheld" in a for a in emergency[:stasis])
    # Not connected: the native queue of all call takers takes the caller.
    assert "Queue(takers-fallback,r)" in emergency


@pytest.mark.parametrize("code", ["*11", "*12", "*21", "*22"])
def test_feature_codes_from_a_taker_phone_reach_the_control_plane(code: str) -> None:
    first = best("from-taker", code)[0]
    # translate() matches the literal "feature" argument, then the code and the endpoint.
    assert first == "Stasis(${ARI_APP},feature,${EXTEN},PJSIP/${CHANNEL(endpoint)})"


@pytest.mark.parametrize(("dialled", "last"), [("112", ["Hangup(1)"]), ("1234", ["Hangup(1)"]), ("*1", [])])
def test_other_numbers_from_a_taker_phone_are_refused(dialled: str, last: list[str]) -> None:
    assert best("from-taker", dialled)[-1:] == last  # [] = no such extension: Asterisk refuses
