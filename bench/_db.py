"""Benchmark database set-up: the default PostgreSQL database for benchmarks, created if missing."""

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/carefair_bench"


def ensure_database(url: str) -> str:
    """Create the benchmark's PostgreSQL database when it does not exist yet; return the URL."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        return url
    server = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                            {"name": parsed.database})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    server.dispose()
    return url
