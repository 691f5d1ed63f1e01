"""The Alembic revisions build exactly the schema the models describe (no drift), on SQLite and
PostgreSQL, and the audit log refuses edits in the database as well as in the ORM."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, make_url, select, text
from sqlalchemy.exc import DatabaseError

from app import create_app
from app.config import Config
from app.extensions import db
from app.models import AuditEvent
from app.models.audit import AppendOnlyError
from app.services import audit

PG_URL = os.environ.get("TEST_DATABASE_URL")


@contextmanager
def _fresh_app(url: str, instance) -> Iterator:
    """A second Carefair app on an empty database of its own, migrated to head."""
    from flask_migrate import upgrade

    application = create_app(Config.from_env(
        "test", SQLALCHEMY_DATABASE_URI=url, INSTANCE_DIR=str(instance),
        MAIL_OUTBOX_DIR=str(instance / "outbox")))
    with application.app_context():
        upgrade()
        try:
            yield application
        finally:
            db.session.remove()
            db.engine.dispose()


@contextmanager
def _throwaway_postgres_database() -> Iterator[str]:
    """CREATE a uniquely named database next to TEST_DATABASE_URL's, DROP it afterwards."""
    base = make_url(PG_URL)
    name = f"{base.database}_drift_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _differences(application) -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "compare_server_default": True})
        return compare_metadata(context, db.metadata)


def _assert_no_drift_and_append_only(application) -> None:
    assert _differences(application) == []
    assert "audit_events" in inspect(db.engine).get_table_names()
    # The triggers, which autogenerate cannot see, are there too.
    with db.engine.connect() as conn:
        conn.execute(text("INSERT INTO audit_events (occurred_at, action, subject_type, details) "
                          "VALUES (CURRENT_TIMESTAMP, 'test.probe', 'test', '{}')"))
        for statement in ("UPDATE audit_events SET action = 'test.changed'",
                          "DELETE FROM audit_events"):
            savepoint = conn.begin_nested()
            with pytest.raises(DatabaseError, match="append-only"):
                conn.execute(text(statement))
            savepoint.rollback()
        assert conn.scalar(text("SELECT action FROM audit_events")) == "test.probe"
        conn.rollback()


def test_sqlite_migrations_match_the_models(tmp_path):
    with _fresh_app(f"sqlite:///{tmp_path / 'drift.db'}", tmp_path) as application:
        _assert_no_drift_and_append_only(application)


@pytest.mark.postgres_only
def test_postgres_migrations_match_the_models(tmp_path):
    with _throwaway_postgres_database() as url, _fresh_app(url, tmp_path) as application:
        _assert_no_drift_and_append_only(application)


def test_the_database_refuses_to_edit_or_delete_audit_events(app_ctx, db_session, make_user):
    """On whichever database the suite runs (PostgreSQL with TEST_DATABASE_URL)."""
    actor = make_user()
    event = audit.record(actor, "test.recorded", "user", actor.id)
    db_session.commit()
    for statement in ("UPDATE audit_events SET action = 'test.changed' WHERE id = :id",
                      "DELETE FROM audit_events WHERE id = :id"):
        savepoint = db_session.begin_nested()
        with pytest.raises(DatabaseError, match="append-only"):
            db_session.execute(text(statement), {"id": event.id})
        savepoint.rollback()
    assert db_session.scalar(select(AuditEvent.action).where(AuditEvent.id == event.id)) == \
        "test.recorded"


def test_the_orm_refuses_to_flush_edits_or_deletes_of_audit_events(app_ctx, db_session, make_user):
    actor = make_user()
    event = audit.record(actor, "test.recorded", "user", actor.id)
    db_session.commit()
    event.action = "test.changed"
    with pytest.raises(AppendOnlyError):
        db_session.flush()
    db_session.rollback()
    db_session.delete(db_session.get(AuditEvent, event.id))
    with pytest.raises(AppendOnlyError):
        db_session.flush()
    db_session.rollback()
    assert db_session.get(AuditEvent, event.id).action == "test.recorded"
