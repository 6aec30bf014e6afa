# The command-centre configuration (queue/kendari.yaml): the shipped file is valid, and
# each kind of mistake a telecom engineer can make is reported with file, line and field,
# by the loader and by `python -m ivr config check`.
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ivr.config.loader import ConfigInvalid, load

DEFAULT_TAKERS = [f"taker{n:02d}" for n in range(1, 21)]  # the phones of asterisk-conf/pjsip.conf

SHIPPED = Path(__file__).resolve().parents[2] / "queue" / "kendari.yaml"
TEXT = SHIPPED.read_text()


def line_of(fragment: str, text: str = TEXT) -> int:
    return text[: text.index(fragment)].count("\n") + 1


def test_shipped_configuration_is_valid_and_matches_the_phones() -> None:
    config = load(SHIPPED)
    assert [a.id for a in config.takers] == DEFAULT_TAKERS
    assert {p.name for p in config.priorities} >= {"emergency", "normal", "silent", "low"}
    assert {a.id for a in config.agencies} == {"damkar", "ambulans", "bpbd", "polisi"}


@pytest.mark.parametrize(
    ("old", "new", "field", "message", "anchor"),
    [
        ("base: 200", "base: -5", "priorities.1.base", "greater than or equal to 0", "base: -5"),
        (
            "ring_seconds: 15 ",
            "ring_seconds: 500 ",
            "timers.ring_seconds",
            "less than or equal to 60",
            "ring_seconds: 500",
        ),
        (
            "employment: contract}",
            "employment: temp}",
            "takers.8.employment",
            "'civil-servant' or 'contract'",
            "temp}",
        ),
        (
            "id: taker05",
            "id: taker04",
            "takers.4.id",
            "'taker04' used twice",
            "id: taker04, name: Call taker 05",
        ),
        (
            "overflow: supervisor\n  - name: silent",
            "overflow: nobody\n  - name: silent",
            "priorities.1.overflow",
            "unknown target 'nobody'",
            "overflow: nobody",
        ),
        (
            "default_priority: normal",
            "default_priority: urgent",
            "default_priority",
            "'urgent' is not a priority",
            "default_priority: urgent",
        ),
        (
            "endpoint: PJSIP/taker03,",
            "endpoint: SIP taker03,",
            "takers.2.endpoint",
            "is not an endpoint",
            "endpoint: SIP taker03",
        ),
        (
            "centre: Kendari 112",
            "centre: Kendari 112\ncentr: typo",
            "centr",
            "Extra inputs are not permitted",
            "centr: typo",
        ),
        (
            "    priority: emergency",
            "    priority: urgent",
            "caller_priorities.0.priority",
            "unknown 'urgent'",
            "priority: urgent",
        ),
        (
            "levels: {emergency: emergency, normal: normal, silent: silent, prank: low}",
            "levels: {emergency: emergency, normal: normal, silent: silent, prank: lowest}",
            "screening.levels.prank",
            "'lowest' is not a priority",
            "levels: {emergency",
        ),
        (
            "  budget_seconds: 0 ",
            "  budget_seconds: -1 ",
            "screening.budget_seconds",
            "greater than or equal to 0",
            "budget_seconds: -1",
        ),
        (
            "  - name: silent           # no speech, no response to the silent-call prompt\n    base: 150",
            "  - name: silent\n    base: 150\n    overflow: supervisor",
            "priorities.2",
            "overflow needs max_wait_seconds",
            "name: silent",
        ),
    ],
)
def test_each_mistake_is_named_with_its_line_and_field(
    tmp_path: Path, old: str, new: str, field: str, message: str, anchor: str
) -> None:
    assert old in TEXT
    text = TEXT.replace(old, new, 1)
    path = tmp_path / "centre.yaml"
    path.write_text(text)
    with pytest.raises(ConfigInvalid) as caught:
        load(path)
    found = [p for p in caught.value.problems if p.field == field]
    assert found, f"no problem for {field}: {caught.value}"
    assert message in found[0].message
    assert found[0].line == line_of(anchor, text)
    assert found[0].file == str(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [("centre: [", "not valid YAML"), ("", "must be a mapping"), ("- a\n- b\n", "must be a mapping")],
)
def test_unreadable_files_are_refused_with_a_reason(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "centre.yaml"
    path.write_text(text)
    with pytest.raises(ConfigInvalid, match=message):
        load(path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigInvalid, match="cannot read"):
        load(tmp_path / "absent.yaml")


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    path = tmp_path / "centre.yaml"
    path.write_text(TEXT.replace("base: 200", "base: -5").replace("ring_seconds: 15 ", "ring_seconds: 1 "))
    with pytest.raises(ConfigInvalid) as caught:
        load(path)
    assert {p.field for p in caught.value.problems} == {"priorities.1.base", "timers.ring_seconds"}


def test_caller_priorities_match_exact_numbers_and_prefixes() -> None:
    config = load(SHIPPED)
    assert config.priority_of("0401312999") == "emergency"
    assert config.priority_of("0401-312-999") == "emergency"  # separators ignored
    assert config.priority_of("0812345678") == "normal"
    assert config.priority_of("") == "normal"


def run_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ivr", "config", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_config_check_command_accepts_the_shipped_file() -> None:
    done = run_check(SHIPPED)
    assert done.returncode == 0, done.stderr
    assert "valid" in done.stdout and "20 call takers" in done.stdout


def test_config_check_command_prints_every_problem_and_fails(tmp_path: Path) -> None:
    path = tmp_path / "centre.yaml"
    path.write_text(TEXT.replace("base: 200", "base: -5").replace("id: taker05", "id: taker04"))
    done = run_check(path)
    assert done.returncode == 1
    assert f"{path}:{line_of('base: -5', path.read_text())}: priorities.1.base:" in done.stderr
    assert "not applied" in done.stderr and "Traceback" not in done.stderr


FORGED_IDENTIFY = '"Kendari 112\\n[evil-identify]\\ntype = identify\\nendpoint = carrier\\nmatch = 0.0.0.0/0"'


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("centre: Kendari 112", f"centre: {FORGED_IDENTIFY}", "centre", "'\\n' is not allowed here"),
        ("name: Call taker 03,", 'name: "Call \\"taker\\" 03",', "takers.2.name", "'\"' is not allowed here"),
        ("name: Polisi (police),", 'name: "Polisi; x",', "agencies.3.name", "';' is not allowed here"),
        (
            "match: [127.0.0.3]",
            "match: [300.0.0.1]",
            "trunks.1.match.0",
            "'300.0.0.1' is not an IPv4 address",
        ),
        ("match: [127.0.0.3]", "match: [999.999.999.999/99]", "trunks.1.match.0", "is not an IPv4 address"),
        ("match: [127.0.0.3]", "match: [0.0.0.0/0]", "trunks.1.match.0", "not an address an operator"),
        (
            "match: [127.0.0.3]",
            "match: [10.1.2.7/24]",
            "trunks.1.match.0",
            "write the network as 10.1.2.0/24",
        ),
        ("match: [127.0.0.3]", "match: [10.1.0.0/16]", "trunks.1", "10.1.0.0/16 is wider than /24"),
        ('contact: "127.0.0.3:5060"', 'contact: "127.0.0.3:99999"', "trunks.1.contact", "port must be"),
        ('code: "4"}', 'code: "4", addresses: {damkar: "10.0.0.5:5060"}}', "agencies.3", "not one of this"),
        (
            'code: "4"}',
            'code: "4", addresses: {polisi: "10.0.0.5:50x"}}',
            "agencies.3.addresses.polisi",
            "port must be",
        ),
        (
            'code: "4"}',
            'code: "4", addresses: {polisi: "pbx\\n.polri:5060"}}',
            "agencies.3.addresses.polisi",
            "is not host:port",
        ),
        (
            "endpoints: [PJSIP/damkar]",
            "endpoints: [PJSIP/dam.kar]",
            "agencies.0.endpoints.0",
            "not an endpoint",
        ),
    ],
)
def test_every_value_that_reaches_asterisk_is_checked(
    tmp_path: Path, old: str, new: str, field: str, message: str
) -> None:
    """Free text, addresses and names are refused with file:line: field, never stripped later."""
    assert old in TEXT, old
    text = TEXT.replace(old, new, 1)
    path = tmp_path / "centre.yaml"
    path.write_text(text)
    with pytest.raises(ConfigInvalid) as caught:
        load(path)
    found = [p for p in caught.value.problems if p.field == field]
    assert found, f"no problem for {field}: {caught.value}"
    assert message in found[0].message, found[0].message
    assert found[0].line == line_of(new.split("\n")[0].split("{")[0].strip() or new, text)


def test_a_wider_trunk_network_needs_an_explicit_widest_prefix(tmp_path: Path) -> None:
    path = tmp_path / "centre.yaml"
    path.write_text(TEXT.replace("match: [127.0.0.3]", "match: [10.1.0.0/16], widest_prefix: 16", 1))
    assert load(path).trunks[1].match == ["10.1.0.0/16"]
    path.write_text(TEXT.replace("match: [127.0.0.3]", "match: [10.0.0.0/8], widest_prefix: 7", 1))
    with pytest.raises(ConfigInvalid, match="greater than or equal to 8"):
        load(path)


BOMB = "\n".join(
    [
        'a: &a ["x","x","x","x","x","x","x","x","x"]',
        *(f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]" for p, n in zip("abcdefgh", "bcdefghi", strict=True)),
    ]
)


def test_aliases_are_refused_before_they_expand(tmp_path: Path) -> None:
    """A 'billion laughs' file (nested aliases) is refused at once, naming the line."""
    path = tmp_path / "centre.yaml"
    path.write_text(BOMB)
    with pytest.raises(ConfigInvalid) as caught:
        load(path)
    assert "alias *a refused" in str(caught.value) and caught.value.problems[0].line == 2
    done = run_check(path)  # and from the command line, in far less than its 60 s timeout
    assert done.returncode == 1 and "aliases are not allowed" in done.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("centre: x\n" + "# padding\n" * 120_000, "a configuration file may hold at most"),
        ("centre: " + "[" * 30 + "]" * 30 + "\n", "nested deeper than 20 levels"),
    ],
)
def test_oversized_or_deep_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "centre.yaml"
    path.write_text(text)
    with pytest.raises(ConfigInvalid, match=message):
        load(path)


def test_a_centre_file_written_before_taker_was_the_word_still_loads(tmp_path: Path) -> None:
    """`agents:` is the call takers' former key: read for one release; both at once is refused."""
    former = tmp_path / "former.yaml"
    former.write_text(TEXT.replace("\ntakers:", "\nagents:"))
    assert [a.id for a in load(former).takers] == DEFAULT_TAKERS
    both = tmp_path / "both.yaml"
    both.write_text(TEXT.replace("\ntakers:", "\nagents: []\ntakers:"))
    with pytest.raises(ConfigInvalid, match="agents: is its former name"):
        load(both)
