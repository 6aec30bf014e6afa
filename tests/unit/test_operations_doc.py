# docs/operations.md is what an engineer follows at 3 a.m.: every variable it tells them
# to set must be one the programs read, every script or file it sends them to must be
# there, and what it says the shipped SIP configuration does (DTMF mode, NAT, HEP) must
# still be what the configuration does.
from __future__ import annotations

import re
from pathlib import Path

import pytest

from ivr.config import asterisk_centre
from ivr.config.loader import load
from ivr.settings import Settings, StoreSettings, WatchdogSettings

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "operations.md"
PJSIP = REPO / "asterisk-conf" / "pjsip.conf"

# IVR_* variables the doc names that are no field of the settings classes: each is read
# by the program named here, which must still mention it.
NOT_SETTINGS = {
    "IVR_CACHE_DIR": "scripts/lib.sh",  # the scripts' cache folder (prompts, the Asterisk root)
    "IVR_CLUSTER_NODES": "scripts/edge-start.sh",
    "IVR_EDGE_DIR": "scripts/edge-start.sh",
    "IVR_EDGE_ADDRESS": "scripts/edge-start.sh",  # which edge this is (ivr/tools/edge_apply.py too)
    "IVR_EDGE_USER": "scripts/edge-start.sh",
    "IVR_ASTERISK_METRICS_USER": "scripts/render_conf.py",  # Asterisk's metrics page
    "IVR_ASTERISK_METRICS_PASSWORD": "scripts/render_conf.py",
    "IVR_RECORD": "dialplan/extensions.conf",  # the dialplan's global, rendered from IVR_RECORD_CALLS
    "IVR_SILERO_MODEL": "ivr/adapters/speech/silero.py",  # read from the environment there
}
# A path the doc names: scripts/..., asterisk-conf/..., deploy/... (not inside a longer path).
PATH = re.compile(r"(?<![\w./-])((?:scripts|asterisk-conf|deploy)/[\w.*/-]*)")


def doc() -> str:
    return DOC.read_text()


def settings_variables() -> set[str]:
    names = set()
    for cls in (StoreSettings, Settings, WatchdogSettings):
        prefix = cls.model_config.get("env_prefix", "")
        for name, field in cls.model_fields.items():
            assert field.alias is None and field.validation_alias is None, (
                f"{cls.__name__}.{name} has an alias"
            )
            names.add(f"{prefix}{name}".upper())
    return names


def test_every_ivr_variable_in_the_doc_is_read_by_the_programs() -> None:
    named = set(re.findall(r"\bIVR_[A-Z_]*[A-Z]\b", doc()))
    unknown = sorted(named - settings_variables() - set(NOT_SETTINGS))
    assert not unknown, f"docs/operations.md names variables nothing reads: {unknown}"


@pytest.mark.parametrize(("variable", "reader"), sorted(NOT_SETTINGS.items()))
def test_the_variables_read_outside_the_settings_are_still_read_there(variable: str, reader: str) -> None:
    assert variable not in settings_variables()
    assert re.search(rf"\b{variable}\b", (REPO / reader).read_text()), f"{reader} no longer reads {variable}"


def test_the_settings_the_doc_is_built_on_exist() -> None:
    # a guard on the check above: the settings classes are found and read
    assert {
        "IVR_ARI_URL",
        "IVR_STATE_DIR",
        "IVR_WATCHDOG_GRACE_SECONDS",
        "IVR_VOSK_MODEL",
    } <= settings_variables()


def test_every_script_and_configuration_path_in_the_doc_exists() -> None:
    paths = {p.rstrip(".") for p in PATH.findall(doc())}
    assert "scripts/asterisk-root.sh" in paths and "asterisk-conf/modules.conf" in paths
    missing = sorted(p for p in paths if not (any(REPO.glob(p)) if "*" in p else (REPO / p).exists()))
    assert not missing, f"docs/operations.md sends engineers to paths that do not exist: {missing}"


def sections(text: str) -> dict[str, dict[str, str]]:
    """Each [section] of an Asterisk configuration file: its `name = value` lines."""
    found: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split(";", 1)[0].strip()
        if header := re.fullmatch(r"\[([\w-]+)\](?:\(.*\))?", line):
            current = found.setdefault(header.group(1), {})
        elif "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            current[key] = value
    return found


def test_the_doc_says_which_dtmf_mode_the_trunks_and_phones_run_with() -> None:
    # The doc: no endpoint sets dtmf_mode, so Asterisk's default rfc4733 applies, and only
    # RFC 4733 telephone-events make "55" work. A dtmf_mode set anywhere makes it wrong.
    shipped = sections(PJSIP.read_text())
    config = load(REPO / "queue" / "kendari.yaml")
    secrets = {name: "x" * 24 for name in asterisk_centre.secret_names(config)}
    generated = "".join(asterisk_centre.render(config, secrets).values())
    assert all("dtmf_mode" not in options for options in shipped.values())
    assert "dtmf_mode" not in generated
    assert "trunk-endpoint" in shipped and "taker-endpoint" in shipped
    text = doc()
    assert "Asterisk's default, `rfc4733`" in text and "`dtmf_mode = auto` in `[trunk-endpoint]`" in text


def test_the_doc_says_how_the_transport_stands_behind_nat() -> None:
    # The doc: [transport-udp] has no external_* address and no local_net, and no render
    # variable sets them; an engineer adds them there by hand.
    transport = sections(PJSIP.read_text())["transport-udp"]
    assert set(transport) == {"type", "protocol", "bind"}
    assert transport["bind"] == "@@SIP_BIND@@"
    text = doc()
    for option in ("external_media_address", "external_signaling_address", "local_net"):
        assert f"`{option}`" in text
    assert "edit `[transport-udp]` in the checkout's `asterisk-conf/pjsip.conf`" in text


def test_the_doc_says_what_switching_hep_on_takes() -> None:
    # The doc: the HEP modules are kept unloaded by modules.conf and hep.conf is not shipped.
    modules = (REPO / "asterisk-conf" / "modules.conf").read_text()
    for module in ("res_hep.so", "res_hep_pjsip.so", "res_hep_rtcp.so"):
        assert re.search(rf"^noload = {re.escape(module)}$", modules, re.MULTILINE)
    assert not (REPO / "asterisk-conf" / "hep.conf").exists()
    assert "delete those three `noload` lines" in doc()
