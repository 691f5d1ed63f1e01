"""The `carefair` console script: it refuses to start without SECRET_KEY in production, and
`carefair demo` migrates, seeds idempotently and prints a sign-in per role."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from app.models import AuditEvent, Delegation, User
from app.services import demo_seed

CAREFAIR = str(Path(sys.executable).parent / "carefair")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"SECRET_KEY", "DATABASE_URL", "CAREFAIR_MODE", "FLASK_APP"}}
    env.update(CAREFAIR_INSTANCE_DIR=str(tmp_path / "instance"), **extra)
    return env


def test_carefair_cli_without_secret_key_in_production_explains_and_exits(tmp_path):
    result = subprocess.run([CAREFAIR, "seed"], env=_env(tmp_path, CAREFAIR_MODE="production"),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "export SECRET_KEY=" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "instance" / "carefair.db").exists()


def test_flask_cli_without_secret_key_in_production_explains_and_exits(tmp_path):
    flask = str(Path(sys.executable).parent / "flask")
    result = subprocess.run([flask, "--app", "app", "db", "upgrade"],
                            env=_env(tmp_path, CAREFAIR_MODE="production"),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def _counts(db_file: Path) -> tuple[int, int, int]:
    with sqlite3.connect(db_file) as conn:
        return tuple(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                     for table in ("users", "delegations", "audit_events"))


def test_carefair_demo_prints_a_sign_in_per_role_and_duplicates_nothing_when_rerun(tmp_path):
    first = subprocess.run([CAREFAIR, "demo", "--no-serve"], env=_env(tmp_path),
                           capture_output=True, text=True, timeout=420)
    assert first.returncode == 0, first.stderr
    for _role, email, password in demo_seed.sign_in_table():
        line = next((ln for ln in first.stdout.splitlines() if f" {email} " in ln), None)
        assert line is not None, f"no sign-in line for {email}"
        assert f"password: {password}" in line
    assert "http://127.0.0.1:5000/" in first.stdout
    db_file = tmp_path / "instance" / "carefair.db"
    seeded = _counts(db_file)
    assert seeded[0] >= 9 and seeded[1] >= 3

    again = subprocess.run([CAREFAIR, "demo", "--no-serve"], env=_env(tmp_path),
                           capture_output=True, text=True, timeout=420)
    assert again.returncode == 0, again.stderr
    assert _counts(db_file) == seeded


def _database_counts(db_session) -> tuple[int, int, int]:
    return tuple(db_session.scalar(select(func.count()).select_from(model))
                 for model in (User, Delegation, AuditEvent))


def test_seeding_twice_changes_nothing(app_ctx, db_session, caplog):
    assert _database_counts(db_session) == (0, 0, 0)
    caplog.set_level(logging.WARNING)
    demo_seed.seed_all()
    seeded = _database_counts(db_session)
    people = demo_seed._people(demo_seed.SEED_DIR)["users"]
    emails = {row["email"] for row in people}
    assert seeded[0] >= len(emails)  # the people file, plus the providers' own accounts
    assert db_session.scalar(select(func.count()).select_from(User).where(User.email.in_(emails))) \
        == len(emails)
    assert seeded[1] >= 3 and seeded[2] > 0
    demo_seed.seed_all()
    assert _database_counts(db_session) == seeded
    # Nothing in the demo data is skipped or refused, on the first run or the second.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_demo_holders_bookings_all_go_through_without_a_stripe_key(app, app_ctx, db_session):
    from app.services import accounts, bookings, card_payments

    assert not app.config.get("STRIPE_SECRET_KEY")
    demo_seed.seed_all()
    alex = accounts.find_by_email("holder@carefair.example")
    states = {b.state for b in bookings.bookings_of_holder(alex.id)}
    assert states and "payment_failed" not in states
    assert card_payments.holder_card_problem(alex.id) is None  # council-managed: no card
    rob = accounts.find_by_email("card.holder@carefair.example")
    problem = card_payments.holder_card_problem(rob.id)
    assert problem is not None and problem.code == "payments_not_set_up"


def test_carefair_help_works_without_secret_key(tmp_path):
    result = subprocess.run([CAREFAIR, "--help"], env=_env(tmp_path, CAREFAIR_MODE="production"),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert "Traceback" not in result.stderr + result.stdout
    for command in ("demo", "seed", "create-staff", "search"):
        assert f"  {command} " in result.stdout
    assert "SECRET_KEY is not set" in result.stderr


def test_seed_on_an_empty_database_migrates_it_first(tmp_path):
    database = tmp_path / "empty.db"
    result = subprocess.run([CAREFAIR, "seed"],
                            env=_env(tmp_path, CAREFAIR_MODE="demo",
                                     DATABASE_URL=f"sqlite:///{database}"),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr + result.stdout
    assert "migrated first" in result.stdout and "Demo data loaded." in result.stdout
    with sqlite3.connect(database) as connection:
        assert connection.execute("select count(*) from users").fetchone()[0] > 5


def test_the_demo_has_concerns_households_and_addresses_once(app_ctx, db_session):
    from app.models import Concern, HomeAddress, HouseholdMember
    from app.services import accounts, restrictions
    from app.services.providers import is_public, profile_of

    def counts():
        return tuple(db_session.scalar(select(func.count()).select_from(model))
                     for model in (Concern, HouseholdMember, HomeAddress))

    demo_seed.seed_all()
    seeded = counts()
    assert seeded[0] >= 2 and seeded[1] >= 2 and seeded[2] >= 3
    complaint, public = db_session.scalars(select(Concern).order_by(Concern.id)).all()[:2]
    assert (complaint.kind, complaint.status, complaint.reporter_kind) == (
        "complaint", "open", "holder")
    assert (public.kind, public.status, public.reporter_kind) == ("safeguarding", "closed",
                                                                  "public")
    tamsin = profile_of(accounts.find_by_email("tamsin.chowdhury@carefair.example"))
    assert not restrictions.listings_suspended(tamsin.id) and is_public(tamsin)  # lifted by a broker
    demo_seed.seed_all()
    assert counts() == seeded
