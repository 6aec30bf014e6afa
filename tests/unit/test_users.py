# API users (ivr.adapters.http.auth.load_users): the operators' token has every role; a
# users file is validated with each problem named; a call taker acts as themselves; a
# weak token is refused by `users hash` and, known by its hash, in the users file.
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.adapters.http.auth import Role, UsersInvalid, load_users, token_hash

REPO = Path(__file__).resolve().parents[2]
ADMIN = "operators-own-token-0001"


def test_the_operators_token_has_every_role_and_no_file_means_only_it() -> None:
    users = load_users(None, ADMIN)
    assert list(users) == [token_hash(ADMIN)] and users[token_hash(ADMIN)].roles == frozenset(Role)


def test_users_from_the_file_and_a_call_taker_acts_as_themselves(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    entry = f'{{name: t1, role: call-taker, taker: taker01, token_sha256: "{token_hash("a" * 20)}"}}'
    path.write_text(f"users:\n  - {entry}\n")
    user = load_users(path, ADMIN)[token_hash("a" * 20)]
    assert user.roles == {Role.CALL_TAKER} and user.taker == "taker01"
    assert user.acting_as("someone-else") == "taker01"
    assert load_users(None, ADMIN)[token_hash(ADMIN)].acting_as("sup1") == "sup1"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{name: s, role: supervisor, token_sha256: " + "1" * 64 + "}", "write the hash in quotes"),
        ('{name: s, role: boss, token_sha256: "' + "a" * 64 + '"}', "users.0.role"),
        ('{name: s, role: call-taker, token_sha256: "' + "a" * 64 + '"}', r"needs taker: \(their"),
        ('{name: s, role: supervisor, token_sha256: "abc"}', "users.0.token_sha256"),
        ('{name: s, role: supervisor, token_sha256: "' + token_hash(ADMIN) + '"}', "same token"),
    ],
)
def test_a_bad_users_file_names_the_problem(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "users.yaml"
    path.write_text(f"users:\n  - {line}\n")
    with pytest.raises(UsersInvalid, match=message):
        load_users(path, ADMIN)


@pytest.mark.parametrize("token", ["Password123", "kendari112", "Qwertyuiop", "SupervisorSupervisor"])
def test_a_weak_token_in_the_users_file_is_refused_naming_the_user(tmp_path: Path, token: str) -> None:
    path = tmp_path / "users.yaml"
    path.write_text(f'users:\n  - {{name: sup-ana, role: supervisor, token_sha256: "{token_hash(token)}"}}\n')
    with pytest.raises(
        UsersInvalid, match=r"users\.yaml: user sup-ana: its token is a common word"
    ) as caught:
        load_users(path, ADMIN)
    assert token not in str(caught.value)
    assert load_users(path, ADMIN, development=True)[token_hash(token)].name == "sup-ana"


def users_hash(token: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("IVR_")}
    return subprocess.run([sys.executable, "-m", "ivr", "users", "hash"], input=token + "\n", cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def test_users_hash_refuses_a_weak_token_and_hashes_a_random_one() -> None:
    refused = users_hash("Password12345678")
    assert refused.returncode == 1 and refused.stdout == ""
    assert "refused" in refused.stderr and "predictable" in refused.stderr
    assert "Password12345678" not in refused.stderr
    token = secrets.token_urlsafe(24)
    done = users_hash(token)
    assert done.returncode == 0 and done.stdout.strip() == token_hash(token), done.stderr


def test_a_users_file_with_aliases_is_refused_at_once(tmp_path: Path) -> None:
    """The users file is read with the centre file's bounds: nested aliases never expand."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 9)]
    path = tmp_path / "users.yaml"
    path.write_text("\n".join(lines) + "\nusers: []\n")
    with pytest.raises(UsersInvalid, match=r"users.yaml:2: alias \*a0 refused"):
        load_users(path, ADMIN, development=True)


def test_a_users_file_written_before_taker_was_the_word_still_works(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    entry = f'{{name: t1, role: call-taker, agent: taker01, token_sha256: "{token_hash("a" * 20)}"}}'
    path.write_text(f"users:\n  - {entry}\n")
    assert load_users(path, ADMIN)[token_hash("a" * 20)].taker == "taker01"
