"""The SQLite demo takes concurrent writes without "database is locked" (WAL, busy timeout and
transactions that take the write lock up front)."""

from __future__ import annotations

import threading

from sqlalchemy import create_engine, text

from app.models.base import configure_sqlite


def test_many_threads_reading_then_writing_never_see_database_is_locked(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'demo.db'}", pool_size=16)
    configure_sqlite(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER)"))
        conn.execute(text("INSERT INTO counter VALUES (1, 0)"))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(25):
                with engine.begin() as conn:
                    # Read first, then write: the pattern that a deferred BEGIN cannot survive.
                    n = conn.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one()
                    conn.execute(text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})
        except BaseException as err:  # noqa: BLE001 - collected and reported below
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 8 * 25
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    engine.dispose()
