# API users (ivr.adapters.http.auth.load_users): the operators' token has every role; a
# users file is validated with each problem named; a call taker acts as themselves.
from __future__ import annotations

from pathlib import Path

import pytest

from ivr.adapters.http.auth import Role, UsersInvalid, load_users, token_hash

ADMIN = "operators-own-token-0001"


def test_the_operators_token_has_every_role_and_no_file_means_only_it() -> None:
    users = load_users(None, ADMIN)
    assert list(users) == [token_hash(ADMIN)] and users[token_hash(ADMIN)].roles == frozenset(Role)


def test_users_from_the_file_and_a_call_taker_acts_as_themselves(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    entry = f'{{name: t1, role: call-taker, agent: taker01, token_sha256: "{token_hash("a" * 20)}"}}'
    path.write_text(f"users:\n  - {entry}\n")
    user = load_users(path, ADMIN)[token_hash("a" * 20)]
    assert user.roles == {Role.CALL_TAKER} and user.agent == "taker01"
    assert user.acting_as("someone-else") == "taker01"
    assert load_users(None, ADMIN)[token_hash(ADMIN)].acting_as("sup1") == "sup1"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{name: s, role: supervisor, token_sha256: " + "1" * 64 + "}", "write the hash in quotes"),
        ('{name: s, role: boss, token_sha256: "' + "a" * 64 + '"}', "users.0.role"),
        ('{name: s, role: call-taker, token_sha256: "' + "a" * 64 + '"}', "needs its agent"),
        ('{name: s, role: supervisor, token_sha256: "abc"}', "users.0.token_sha256"),
        ('{name: s, role: supervisor, token_sha256: "' + token_hash(ADMIN) + '"}', "same token"),
    ],
)
def test_a_bad_users_file_names_the_problem(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "users.yaml"
    path.write_text(f"users:\n  - {line}\n")
    with pytest.raises(UsersInvalid, match=message):
        load_users(path, ADMIN)
