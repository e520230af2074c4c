"""Reviewer accounts and API tokens through the real `crewgate` command and database.

Passwords are stored as Argon2id hashes and tokens as their secret's sha256:
neither the password nor the token's secret is anywhere in the database file.
Bad input (a role that does not exist, a short password, a name taken in another
spelling, an expiry that is not a duration) exits 2 and records nothing.
"""

import datetime
import json
from pathlib import Path

from tests.durable_helpers import Crewgate
from workflows.clock import wall_clock
from workflows.store.accounts import Accounts
from workflows.store.database import Store

PASSWORD = "correct horse battery staple"  # noqa: S105 - a test user's password


def database_bytes(cg: Crewgate) -> bytes:
    return b"".join(path.read_bytes() for path in cg.home.glob("crewgate.db*"))


def add(cg: Crewgate, name: str, role: str, password: str = PASSWORD) -> None:
    done = cg.run("users", "add", name, "--role", role, "--password-stdin", stdin=password + "\n")
    assert done.returncode == 0, done.stderr


def test_users_are_added_listed_and_disabled_and_bad_input_records_nothing(cg: Crewgate) -> None:
    add(cg, "Alice", "reviewer")
    listed = json.loads(cg.run("users", "list", "--json").stdout)
    assert [(user["name"], user["role"], user["disabled"]) for user in listed] == [("alice", "reviewer", False)]
    assert b"$argon2id$" in database_bytes(cg) and PASSWORD.encode() not in database_bytes(cg)
    for args, stdin, problem in [
        (("users", "add", "bob", "--role", "boss"), PASSWORD, "'boss' is not one of"),
        (("users", "add", "bob", "--role", "viewer"), "too short", "use at least 12"),
        (("users", "add", " ALICE ", "--role", "admin"), PASSWORD, "user alice already exists"),
        (("users", "add", "bo\u202eb", "--role", "viewer"), PASSWORD, "control or invisible characters"),
        (("users", "disable", "nobody"), "", "no user 'nobody'"),
    ]:
        refused = cg.run(*args, "--password-stdin", stdin=stdin + "\n") if args[1] == "add" else cg.run(*args)
        assert refused.returncode == 2 and problem in refused.stderr, (args, refused.stderr)
    assert len(json.loads(cg.run("users", "list", "--json").stdout)) == 1  # nothing recorded
    assert cg.run("users", "disable", "alice").returncode == 0
    assert json.loads(cg.run("users", "list", "--json").stdout)[0]["disabled"] is True


def test_a_token_is_shown_once_stored_hashed_and_refused_once_revoked_expired_or_its_user_disabled(
    cg: Crewgate,
) -> None:
    add(cg, "alice", "reviewer")
    add(cg, "victor", "viewer")
    created = json.loads(cg.run("tokens", "create", "--user", "alice", "--json").stdout)
    token, token_id = created["token"], created["id"]
    assert token.startswith(f"cgt_{token_id}_")
    secret = token.split("_", 2)[2]
    assert secret.encode() not in database_bytes(cg)
    assert "token" not in json.loads(cg.run("tokens", "list", "--json").stdout)[0]  # never shown again

    accounts = Accounts(Store(cg.url).engine)
    assert accounts.authenticate(token).name == "alice"  # type: ignore[union-attr]
    assert accounts.tokens()[0].last_used_at is not None
    for forged in (token[:-1] + ("A" if token[-1] != "A" else "B"), f"cgt_{token_id}_", "Bearer " + token, "", "cgt_"):
        assert accounts.authenticate(forged) is None, forged
    assert cg.run("tokens", "revoke", token_id).returncode == 0
    assert accounts.authenticate(token) is None

    short = json.loads(cg.run("tokens", "create", "--user", "victor", "--expires", "1m", "--json").stdout)["token"]
    assert accounts.authenticate(short).name == "victor"  # type: ignore[union-attr]
    a_minute_on = Accounts(accounts.engine, clock=lambda: wall_clock() + datetime.timedelta(seconds=61))
    assert a_minute_on.authenticate(short) is None  # expired: the same store, its clock moved past the token's end
    lasting = json.loads(cg.run("tokens", "create", "--user", "victor", "--json").stdout)["token"]
    assert accounts.authenticate(lasting).role == "viewer"  # type: ignore[union-attr]
    assert cg.run("users", "disable", "victor").returncode == 0
    assert accounts.authenticate(lasting) is None  # its user is disabled
    refused = cg.run("tokens", "create", "--user", "victor")
    assert refused.returncode == 2 and "is disabled" in refused.stderr
    bad = cg.run("tokens", "create", "--user", "alice", "--expires", "soon")
    assert bad.returncode == 2 and "is not a duration" in bad.stderr
    assert cg.run("tokens", "revoke", "nope").returncode == 2


def test_passwords_are_checked_against_their_hash(tmp_path: Path) -> None:
    accounts = Accounts(Store(f"sqlite:///{tmp_path / 'crewgate.db'}").engine)
    accounts.add_user("carol", "admin", PASSWORD)
    assert accounts.check_password(" Carol ", PASSWORD).name == "carol"  # type: ignore[union-attr]
    assert accounts.check_password("carol", PASSWORD + "!") is None
    assert accounts.check_password("nobody", PASSWORD) is None
    accounts.disable("carol")
    assert accounts.check_password("carol", PASSWORD) is None
