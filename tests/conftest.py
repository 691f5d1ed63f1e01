"""Shared fixtures: one app per test session on SQLite or PostgreSQL, each test in a rolled-back
transaction, a test client, and `login_as(role)`.

TEST_DATABASE_URL=postgresql+psycopg://... runs every database test on PostgreSQL instead of
SQLite. CAREFAIR_NO_SKIPS=1 (set by .ci/run) turns any skipped test into a failure.

Under pytest-xdist (`-n 2`, as .ci/run does) each worker gets its own PostgreSQL database, named
after TEST_DATABASE_URL's with the worker's id appended (created at the start, dropped at the end),
and TEST_DATABASE_URL is pointed at it in that worker, so everything that reads it (race
harnesses, subprocesses) stays in the worker's own database. SQLite files, live servers and
localstripe are per worker already (temporary directories, free ports).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FlaskSQLAlchemySession
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import scoped_session, sessionmaker

from app import create_app
from app.config import Config
from app.domain.access import Role
from app.extensions import db as _db
from app.extensions import limiter
from app.models import User
from tests.factories import UserFactory

PG_URL = os.environ.get("TEST_DATABASE_URL")
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # "gw0", "gw1", ... in an xdist worker
_SHARED_PG_URL = PG_URL
if PG_URL and _XDIST_WORKER:
    # Set before any test module is imported: they read TEST_DATABASE_URL at import time.
    _base = make_url(PG_URL)
    PG_URL = _base.set(database=f"{_base.database}_{_XDIST_WORKER}").render_as_string(
        hide_password=False)
    os.environ["TEST_DATABASE_URL"] = PG_URL


# Tests that commit for real through other connections (the money race harness, fault and
# commit-count tests, timer races) cannot take back what they wrote to the append-only audit log,
# so they run after every test that counts audit rows or reads the database as a whole. Mark
# new ones `@pytest.mark.commits_for_real` (or list the file here). Under xdist's default
# `--dist load` the collection order is kept across workers (each worker is sent tests from the
# front of the one sorted list), so in each worker's own database they still come last.
_COMMITTING_FOR_REAL = {"test_money_races.py", "test_money_faults.py", "test_one_commit.py",
                        "test_booking_money_races.py", "test_timer_races.py",
                        "test_pool_money_races.py",
                        # carefair create-staff and gunicorn in other processes, on this database
                        "test_production_serving.py"}


def _commits_for_real(item) -> bool:
    return item.path.name in _COMMITTING_FOR_REAL or bool(item.get_closest_marker("commits_for_real"))


def pytest_configure(config):
    if PG_URL and _XDIST_WORKER:
        _recreate_worker_database()
    dist = getattr(config.option, "dist", "no")
    if dist not in ("no", "load"):
        # loadscope/loadfile/loadgroup/worksteal reorder or move tests: the tests that commit
        # for real could then run before tests that count rows in the same worker's database.
        raise pytest.UsageError(f"--dist {dist}: Carefair's tests need --dist load (the default "
                                "with -n), which keeps the tests that commit for real last")


def pytest_unconfigure(config):
    if PG_URL and _XDIST_WORKER:
        _drop_database(PG_URL)


def _admin_engine():
    """AUTOCOMMIT on the database TEST_DATABASE_URL originally named (it exists)."""
    return create_engine(_SHARED_PG_URL, isolation_level="AUTOCOMMIT")


def _drop_database(url: str) -> None:
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    engine.dispose()


def _recreate_worker_database() -> None:
    import time

    _drop_database(PG_URL)
    engine = _admin_engine()
    try:
        for attempt in range(10):
            try:
                with engine.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{make_url(PG_URL).database}"'))
                return
            except Exception:
                # Two CREATE DATABASEs copying template1 at the same moment: one may be told
                # the template is in use. Wait and try again.
                if attempt == 9:
                    raise
                time.sleep(0.5 + attempt)
    finally:
        engine.dispose()


def pytest_collection_modifyitems(config, items):
    items.sort(key=_commits_for_real)  # stable: the others keep their order
    for item in items:
        # Whatever runs on the suite's database (the `app` fixture) is a database test: the
        # SQLite pass in .ci/run runs only these (`-m database`); the rest ran on the first pass.
        if "database_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.database)
    if PG_URL:
        return
    for item in items:
        if item.get_closest_marker("postgres_only"):
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set TEST_DATABASE_URL"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CAREFAIR_NO_SKIPS") == "1":
        report.outcome = "failed"
        report.longrepr = f"Skipped tests are failures here (CAREFAIR_NO_SKIPS=1): {report.longrepr}"


def _reset_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if PG_URL:
        if not _XDIST_WORKER:  # a worker's database is new and empty already
            _reset_postgres(PG_URL)
        return PG_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'carefair-test.db'}"


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory) -> Iterator[Flask]:
    instance = tmp_path_factory.mktemp("instance")
    config = Config.from_env(
        "test",
        SQLALCHEMY_DATABASE_URI=database_url,
        INSTANCE_DIR=str(instance),
        MAIL_OUTBOX_DIR=str(instance / "outbox"),
        WTF_CSRF_ENABLED=False,
        SERVER_NAME="carefair.localhost",
        PUBLIC_BASE_URL="http://carefair.localhost",
        SQLITE_BEGIN_IMMEDIATE=False,
    )
    application = create_app(config)
    from flask_migrate import upgrade

    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        _db.engine.dispose()


class _OneConnectionSession(FlaskSQLAlchemySession):
    """Every query goes through the test's own connection, so the test can roll it all back."""

    def get_bind(self, *args, **kwargs):
        return self.bind


class _TestScopedSession(scoped_session):
    """Flask-SQLAlchemy removes the session after every request. Here that rolls back what the
    request left uncommitted, as in production, but keeps the session so the test's objects stay
    attached (and reload from the database when next touched)."""

    def remove(self) -> None:
        if self.registry.has():
            self.registry().rollback()


@contextmanager
def session_on(connection) -> Iterator:
    """Point `db.session` at `connection` (one session, always that connection; what it commits
    is a savepoint) until the block ends, then close it and put the app's own session back.
    Nothing is rolled back here: whoever opened the connection's transaction does that."""
    original = _db.session
    # One session for the whole block (scopefunc constant), always on this connection.
    _db.session = _TestScopedSession(
        sessionmaker(class_=_OneConnectionSession, db=_db, bind=connection,
                     join_transaction_mode="create_savepoint", query_cls=_db.Query),
        scopefunc=lambda: "test",
    )
    try:
        yield _db.session
    finally:
        _db.session.registry().close()
        _db.session = original


@contextmanager
def rolled_back_session(app, connection) -> Iterator:
    """A test's session on `connection`: everything it does is rolled back at the end (to the
    savepoint taken now, when the connection is already inside a longer transaction)."""
    outer = connection.begin_nested() if connection.in_transaction() else connection.begin()
    try:
        with session_on(connection) as session:
            yield session
    finally:
        outer.rollback()
        # Market shares are cached per app for a minute; this test's bookings are gone now.
        from app.services.search_listings import forget_market_share

        forget_market_share(app)
        # PostgreSQL search caches its sets per process by search_index_state's version, which
        # the rollback just took back: the next test's first index write would bring the same
        # version number with other listings, and searches would use this test's sets.
        backend = app.extensions.get("carefair_search")
        if getattr(backend, "name", None) == "postgres":
            app.extensions.pop("carefair_search")


@pytest.fixture
def db_session(app) -> Iterator:
    """Isolate a test: everything it (and the services it calls) commits is a savepoint inside
    one outer transaction that is rolled back at the end.

    No app context is held open here: each test-client request must get a fresh one (Flask
    reuses an already-pushed context, and with it `g` and Flask-Login's cached user). Tests that
    call services directly use `app_ctx`; do not combine `app_ctx` with `client`.

    A module whose tests all need the same costly data (the demo seed) can load it once: see
    `shared_connection` in tests/web/test_hostile_input.py, which overrides this fixture with
    `rolled_back_session(app, connection)` on a connection that holds the data uncommitted.
    """
    with app.app_context():
        connection = _db.engine.connect()
    try:
        with rolled_back_session(app, connection) as session:
            yield session
    finally:
        connection.close()


@pytest.fixture
def app_ctx(app, db_session):
    with app.test_request_context():
        yield


@pytest.fixture
def client(app, db_session) -> FlaskClient:
    limiter.reset()
    return app.test_client()


@pytest.fixture
def make_user(db_session) -> Callable[..., User]:
    def make(role: Role = Role.HOLDER, **fields) -> User:
        return UserFactory(role=role.value, **fields)

    return make


@pytest.fixture
def login(client) -> Callable[[User], User]:
    """Sign a given user in on the test client (through Flask-Login's session keys)."""

    def sign_in(user: User) -> User:
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
            session.pop("acting_for_holder_id", None)
        return user

    return sign_in


@pytest.fixture
def login_as(make_user, login) -> Callable[[Role], User]:
    def sign_in(role: Role, **fields) -> User:
        return login(make_user(role, **fields))

    return sign_in


@pytest.fixture
def smtp_server(app):
    """A real SMTP server on 127.0.0.1 for this test; the app sends through it over SMTP."""
    from tests.smtp_server import SmtpServer

    server = SmtpServer()
    server.start()
    keys = ("MAIL_BACKEND", "MAIL_SERVER", "MAIL_PORT", "MAIL_TIMEOUT")
    saved = {k: app.config[k] for k in keys}
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port,
                      MAIL_TIMEOUT=5)
    try:
        yield server
    finally:
        app.config.update(saved)
        server.stop()

