"""The email outbox: rows written with the action, sent after commit, retried with backoff.

Sending never blocks or breaks the action that caused it. `notify.send` adds an
OutboundEmail row to the caller's transaction; when that transaction commits, the row's id is
marked ready and delivered at the end of the request (or app context). If the mail server is
down the row stays queued with its attempt count, last error and next retry time, and
`carefair mail send-queued` (run from cron) tries again. Delivery is at least once: if the
database commit after a successful send fails, the email may be sent again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import event, func, or_, select
from sqlalchemy.orm import Session

from app.adapters import mail as mail_adapter
from app.domain.notifications import MAX_ATTEMPTS, Event, retry_delay
from app.errors import NotFound, NotPermitted
from app.extensions import db
from app.models import OutboundEmail, User
from app.models.notification import OUTBOX_FAILED, OUTBOX_QUEUED, OUTBOX_SENT
from app.services import audit

log = logging.getLogger(__name__)

_NEW = "carefair_outbox_new"
_READY = "carefair_outbox_ready"
BATCH_SIZE = 200
REMOVED_BODY = "(Removed once sent: it held a private link.)"
_PRIVATE_LINK_EVENTS = frozenset(e.value for e in Event if e.spec.transactional)


def track(session: Session, outbound: OutboundEmail) -> None:
    """Remember a just-flushed outbox row so it is delivered once its transaction commits."""
    session.info.setdefault(_NEW, set()).add(outbound.id)


@event.listens_for(Session, "after_commit")
def _mark_ready(session: Session) -> None:
    new = session.info.pop(_NEW, None)
    if new:
        session.info.setdefault(_READY, set()).update(new)


@event.listens_for(Session, "after_soft_rollback")
def _forget_uncommitted(session: Session, previous_transaction) -> None:
    # The action failed, so its emails were never written; nothing to deliver.
    if previous_transaction.parent is None:
        session.info.pop(_NEW, None)


def deliver_ready() -> int:
    """Try the emails whose transactions have committed. Returns how many were sent.

    Called at the end of each request and app context; never raises.
    """
    session = db.session()
    ready = session.info.pop(_READY, None)
    if not ready:
        return 0
    try:
        return _attempt(sorted(ready))
    except Exception:  # noqa: BLE001 - the emails stay queued for send-queued
        log.exception("Sending queued emails after commit failed; they stay queued")
        db.session.rollback()
        return 0


def send_queued(*, now: datetime | None = None, limit: int = BATCH_SIZE) -> tuple[int, int]:
    """Retry every queued email that is due. Returns (sent, still failing). For cron."""
    now = now or datetime.now(UTC)
    ids = list(
        db.session.scalars(
            select(OutboundEmail.id)
            .where(OutboundEmail.status == OUTBOX_QUEUED, OutboundEmail.next_attempt_at <= now)
            .order_by(OutboundEmail.next_attempt_at, OutboundEmail.id)
            .limit(limit)
        ).all()
    )
    sent = _attempt(ids, now=now)
    return sent, len(ids) - sent


def _attempt(ids: list[int], *, now: datetime | None = None) -> int:
    if not ids:
        return 0
    # Lock the rows so two senders (the request and cron) never send the same email twice;
    # SKIP LOCKED lets the other sender move on (SQLite ignores this and has one writer anyway).
    rows = list(
        db.session.scalars(
            select(OutboundEmail)
            .where(OutboundEmail.id.in_(ids), OutboundEmail.status == OUTBOX_QUEUED)
            .order_by(OutboundEmail.id)
            .with_for_update(skip_locked=True)
        ).all()
    )
    if not rows:
        db.session.commit()
        return 0
    results = mail_adapter.send_many(
        [mail_adapter.Outgoing(r.to_email, r.subject, r.text_body, r.html_body) for r in rows]
    )
    now = now or datetime.now(UTC)
    sent = 0
    for row, error in zip(rows, results, strict=True):
        row.attempts += 1
        if error is None:
            row.status = OUTBOX_SENT
            row.sent_at = now
            row.last_error = None
            if row.event in _PRIVATE_LINK_EVENTS:
                # Do not keep a password-reset or invitation link in the database once sent.
                row.text_body = row.html_body = REMOVED_BODY
            sent += 1
        else:
            row.last_error = error
            row.next_attempt_at = now + retry_delay(row.attempts)
            if row.attempts >= MAX_ATTEMPTS:
                row.status = OUTBOX_FAILED
            log.warning(
                "Email %s to %s not sent (try %s): %s", row.id, row.to_email, row.attempts, error
            )
    db.session.commit()
    return sent


def problems(limit: int = 200) -> list[OutboundEmail]:
    """Emails that have failed at least once and are not yet sent, for the council admin page."""
    return list(
        db.session.scalars(
            select(OutboundEmail)
            .where(
                or_(
                    OutboundEmail.status == OUTBOX_FAILED,
                    (OutboundEmail.status == OUTBOX_QUEUED) & (OutboundEmail.attempts > 0),
                )
            )
            .order_by(OutboundEmail.created_at.desc(), OutboundEmail.id.desc())
            .limit(limit)
        ).all()
    )


def counts() -> dict[str, int]:
    rows = db.session.execute(
        select(OutboundEmail.status, func.count()).group_by(OutboundEmail.status)
    ).all()
    result = {OUTBOX_QUEUED: 0, OUTBOX_SENT: 0, OUTBOX_FAILED: 0}
    result.update({status: count for status, count in rows})
    return result


def retry_now(actor: User, outbound_id: int) -> OutboundEmail:
    """A council admin asks for an email to be tried again at once (also one given up on).

    Raises NotPermitted, NotFound.
    """
    from app.domain.access import Role

    if actor.role_enum is not Role.COUNCIL_ADMIN:
        raise NotPermitted("Only a council admin can retry emails.")
    row = db.session.get(OutboundEmail, outbound_id)
    if row is None or row.status == OUTBOX_SENT:
        raise NotFound("We could not find that unsent email.")
    row.status = OUTBOX_QUEUED
    row.next_attempt_at = datetime.now(UTC)
    audit.record(
        actor, "email.retry_requested", "outbound_email", row.id, details={"attempts": row.attempts}
    )
    db.session.flush()
    track(db.session(), row)
    db.session.commit()
    return row
