"""Writing to and reading from the audit log. `record` joins the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, inspect, select
from sqlalchemy.orm import InstanceState

from app import clock
from app.extensions import db
from app.models import AuditEvent, User


def user_id(user: User | int | None) -> int | None:
    """A user's id without loading the row: a user expired by an earlier commit would otherwise
    be read again just for its id (a statement on every ledger operation)."""
    if user is None or isinstance(user, int):
        return user
    state: InstanceState[Any] | None = inspect(user, raiseerr=False)  # None for a proxy
    if state is not None and state.identity is not None:
        return int(state.identity[0])
    return user.id


def record(
    actor: User | None,
    action: str,
    subject_type: str,
    subject_id: object = None,
    *,
    on_behalf_of: User | int | None = None,
    details: dict | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (the calling service commits it).

    `on_behalf_of` (a user or their id) is stored only when it is someone other than the actor.
    The time is `at` when the use case was given its own `now`, else the one clock's: the rules
    read some facts (when a booking was cancelled) from these times, so they must follow the
    clock a test sets.
    """
    # Compare ids, not objects: views pass Flask-Login's current_user, a proxy, as the actor.
    actor_id, behalf_id = user_id(actor), user_id(on_behalf_of)
    event = AuditEvent(
        actor_id=actor_id,
        on_behalf_of_id=behalf_id if behalf_id != actor_id else None,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id) if subject_id is not None else None,
        details=details or {},
        occurred_at=at if at is not None else clock.now(),
    )
    db.session.add(event)
    return event


_INSERT_EVENT = insert(cast(Table, AuditEvent.__table__))


def write(
    actor: User | int | None,
    action: str,
    subject_type: str,
    subject_id: object = None,
    *,
    on_behalf_of: User | int | None = None,
    details: dict | None = None,
) -> None:
    """As `record`, but the row is inserted at once in the caller's transaction, with no object
    kept in the session: for hot paths (ledger holds, bench/ledger.py) where building and
    flushing an ORM object costs more than the insert. Call `db.session.flush()` first if
    events recorded earlier must keep the lower ids (the ledger does)."""
    actor_id, behalf_id = user_id(actor), user_id(on_behalf_of)
    db.session.connection().execute(_INSERT_EVENT, {
        "actor_id": actor_id,
        "on_behalf_of_id": behalf_id if behalf_id != actor_id else None,
        "action": action,
        "subject_type": subject_type,
        "subject_id": str(subject_id) if subject_id is not None else None,
        "details": details or {},
        "occurred_at": clock.now(),
    })


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor_email: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    on_or_after: date | None = None
    on_or_before: date | None = None


def search(filters: AuditFilter, *, page: int = 1, per_page: int = 50) -> tuple[list[AuditEvent], int]:
    """Filtered audit events, newest first, with the total count for pagination."""
    from sqlalchemy import func

    query = select(AuditEvent)
    if filters.action:
        query = query.where(AuditEvent.action.startswith(filters.action))
    if filters.actor_email:
        query = query.join(User, User.id == AuditEvent.actor_id).where(
            User.email == filters.actor_email.strip().lower()
        )
    if filters.subject_type:
        query = query.where(AuditEvent.subject_type == filters.subject_type)
    if filters.subject_id:
        query = query.where(AuditEvent.subject_id == filters.subject_id)
    if filters.on_or_after:
        query = query.where(AuditEvent.occurred_at >= datetime.combine(filters.on_or_after, time.min, UTC))
    if filters.on_or_before:
        end = datetime.combine(filters.on_or_before + timedelta(days=1), time.min, UTC)
        query = query.where(AuditEvent.occurred_at < end)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    ).all()
    return list(rows), total
