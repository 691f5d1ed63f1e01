"""The declarative base: naming convention for constraints and the utcnow default."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import DateTime, MetaData, String
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from app import clock

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Now, timezone-aware in UTC, from the one clock (so a time a test sets reaches every
    default timestamp, as it reaches the services). Used as a callable column default."""
    return clock.now()


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC that always comes back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("Timestamps must be timezone-aware")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class StrEnumType(TypeDecorator):
    """A state enum stored as its value in a VARCHAR (the same strings as ever, so no data
    changes) and read back as the enum. Writing a string that is not one of its values fails
    before it reaches the database."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int = 20) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value, dialect):
        return None if value is None else self.enum(value).value

    def process_result_value(self, value, dialect):
        return None if value is None else self.enum(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def configure_sqlite(engine, *, begin_immediate: bool = True) -> None:
    """Make SQLite behave: foreign keys on, and real transactions with SAVEPOINT support.

    pysqlite otherwise starts transactions lazily on its own and breaks savepoints (SQLAlchemy
    docs, "Serializable isolation / Savepoints / Transactional DDL").
    """
    from sqlalchemy import event

    if engine.dialect.name != "sqlite":
        return

    in_memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # Wait for another writer instead of failing at once with "database is locked".
        cursor.execute("PRAGMA busy_timeout=15000")
        if not in_memory:
            # Readers never wait for a writer, and a writer never waits for readers.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if not begin_immediate:
            # The test suite holds one transaction open for a whole test and reads beside it.
            conn.exec_driver_sql("BEGIN")
            return
        # IMMEDIATE takes the write lock at the start: a deferred transaction that read first
        # and then writes cannot wait for the lock (SQLite would deadlock), so it fails at once
        # with "database is locked" whatever the busy timeout. Writers now queue instead.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
