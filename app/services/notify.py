"""Telling people what happened: inbox items and emails, by each person's preferences.

Call `send(Event.X, recipient, about_holder=holder, link=..., context={...})` inside the
service transaction of the action (before its commit), or right after it followed by
`db.session.commit()`. It never commits by itself and never talks to the mail server: emails
are written to the outbox and delivered once the transaction has committed (see outbox.py).

When the recipient *is* the holder the item is about, everyone acting for that holder gets a
copy too: an authorised person everything, a nominated person everything but security
notices, a circle member only the categories the holder shares with them.
Messages carry no health details and no money amounts (see app/domain/notifications.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import func, select, update

from app import links
from app.config import PROJECT_ROOT
from app.domain.access import DelegateKind, Role
from app.domain.notifications import (
    DEFAULT_DELIVERY,
    Category,
    Delivery,
    Event,
    Message,
    render,
)
from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.models import Delegation, Notification, NotificationPreference, OutboundEmail, User
from app.models.delegation import STATUS_ACTIVE
from app.models.notification import (
    EMAIL_DIGEST_PENDING,
    EMAIL_DIGESTED,
    EMAIL_NONE,
    EMAIL_QUEUED,
)
from app.services import audit, outbox

log = logging.getLogger(__name__)

__all__ = ["Event", "send", "password_reset", "delegation_invited", "authorised_person_recorded",
           "sign_up_finish", "sign_up_existing", "staff_welcome"]

ROLE_CATEGORIES: dict[Role, tuple[Category, ...]] = {
    Role.HOLDER: (
        Category.BOOKINGS,
        Category.MONEY,
        Category.MESSAGES,
        Category.PLAN,
        Category.ACCOUNT,
        Category.SAFEGUARDING,
        Category.SECURITY,
    ),
    Role.SUPPORTER: (
        Category.BOOKINGS,
        Category.MONEY,
        Category.MESSAGES,
        Category.PLAN,
        Category.ACCOUNT,
        Category.SAFEGUARDING,
        Category.SECURITY,
    ),
    Role.PROVIDER: (
        Category.BOOKINGS,
        Category.MONEY,
        Category.MESSAGES,
        Category.VETTING,
        Category.FLAGS,
        Category.SAFEGUARDING,
        Category.SECURITY,
    ),
    Role.BROKER: (
        Category.APPROVALS,
        Category.VETTING,
        Category.FLAGS,
        Category.SAFEGUARDING,
        Category.SECURITY,
    ),
    Role.COUNCIL_ADMIN: (Category.FLAGS, Category.SAFEGUARDING, Category.SECURITY),
}

_KIND_WORDS = {
    DelegateKind.AUTHORISED: "as their authorised person",
    DelegateKind.NOMINATED: "as their nominated person",
    DelegateKind.CIRCLE: "as part of their circle of support",
}


@cache
def _email_templates() -> Environment:
    # A separate environment with no app globals (no config, request or session): email
    # templates can only see the safe values passed to them.
    return Environment(
        loader=FileSystemLoader(str(PROJECT_ROOT / "templates" / "email")),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _render_email(template: str, **values) -> tuple[str, str]:
    env = _email_templates()
    return (
        env.get_template(f"{template}.txt").render(**values),
        env.get_template(f"{template}.html").render(**values),
    )


# ---- links -----------------------------------------------------------------------------------


def absolute(link: str) -> str:
    """An address to put in an email: Carefair's own address (PUBLIC_BASE_URL) before a path."""
    return links.absolute(link)


def _path_only(link: str) -> str:
    """Inbox items link inside Carefair only, so an item can never send someone elsewhere."""
    parts = urlsplit(link)
    if parts.netloc and parts.netloc != urlsplit(links.base_url()).netloc:
        raise ValueError("Notification links must point inside Carefair")
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//"):
        raise ValueError("Notification links must be paths inside Carefair, like /my/bookings/3")
    return (
        path
        + (f"?{parts.query}" if parts.query else "")
        + (f"#{parts.fragment}" if parts.fragment else "")
    )


def _endpoint_url(endpoint: str, **values) -> str:
    return links.external(endpoint, **values)


# ---- preferences -----------------------------------------------------------------------------


def categories_for(user: User) -> tuple[Category, ...]:
    return ROLE_CATEGORIES.get(user.role_enum, tuple(Category))


def preferences(user: User) -> dict[Category, Delivery]:
    """Each category's delivery for this person (defaults filled in)."""
    chosen = {
        Category(p.category): Delivery(p.delivery)
        for p in db.session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user.id)
        )
    }
    return {c: chosen.get(c, DEFAULT_DELIVERY) for c in Category}


def set_preferences(user: User, choices: dict[Category, Delivery]) -> None:
    """Save a person's email choices. Raises InvalidInput (field = the category) if they try
    to switch off safeguarding or security email."""
    for category, delivery in choices.items():
        if delivery is Delivery.OFF and not category.can_switch_off:
            raise InvalidInput(
                f"You cannot switch off {category.label.lower()} emails: we must "
                "be able to reach you about them.",
                field=category.value,
            )
    existing = {
        p.category: p
        for p in db.session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user.id)
        )
    }
    changed = {}
    for category, delivery in choices.items():
        row = existing.get(category.value)
        if row is None:
            db.session.add(
                NotificationPreference(
                    user_id=user.id, category=category.value, delivery=delivery.value
                )
            )
            changed[category.value] = delivery.value
        elif row.delivery != delivery.value:
            row.delivery = delivery.value
            changed[category.value] = delivery.value
    if changed:
        audit.record(user, "notifications.preferences_changed", "user", user.id, details=changed)
    db.session.commit()


def _delivery_for(user: User, category: Category) -> Delivery:
    raw = db.session.scalar(
        select(NotificationPreference.delivery).where(
            NotificationPreference.user_id == user.id,
            NotificationPreference.category == category.value,
        )
    )
    delivery = Delivery(raw) if raw else DEFAULT_DELIVERY
    if delivery is Delivery.OFF and not category.can_switch_off:
        return DEFAULT_DELIVERY  # the database refuses this too; belt and braces
    return delivery


# ---- sending ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Recipient:
    user: User | None
    email: str
    kind: DelegateKind | None  # how they act for the holder, when it is a copy for a delegate


def _audience(event: Event, recipient: User | str, about_holder: User | None) -> list[_Recipient]:
    if isinstance(recipient, str):
        return [_Recipient(None, recipient, None)]
    people = [_Recipient(recipient, recipient.email, None)]
    if about_holder is None or about_holder.id != recipient.id:
        return people
    from app.domain.notifications import delegate_receives

    delegations = db.session.scalars(
        select(Delegation)
        .where(
            Delegation.holder_id == about_holder.id,
            Delegation.status == STATUS_ACTIVE,
            Delegation.delegate_id.is_not(None),
        )
        .order_by(Delegation.id)
    ).all()
    for d in delegations:
        if d.delegate is not None and delegate_receives(d.kind_enum, d.share_set, event.spec):
            people.append(_Recipient(d.delegate, d.delegate.email, d.kind_enum))
    return people


def send(
    event: Event,
    recipient: User | str,
    *,
    about_holder: User | None = None,
    link: str,
    context: dict | None = None,
) -> list[Notification]:
    """Notify `recipient` (a User, or an email address with no account) about `event`.

    `link` is the page the item is about (a path or a Carefair URL). `context` holds only the
    event's safe fields (people as User objects, dates, references ...); anything else raises
    UnsafeContent. Joins the caller's transaction; returns the inbox items created.
    """
    message = render(event, context or {})
    spec = event.spec
    created: list[Notification] = []
    for person in _audience(event, recipient, about_holder):
        if person.user is not None and not person.user.active:
            continue
        subject = message.subject
        about = None
        if person.kind is not None and about_holder is not None:
            subject = f"For {about_holder.name}: {subject}"[:200]
            about = (
                f"This is about {about_holder.name}, whom you help on Carefair "
                f"{_KIND_WORDS[person.kind]}."
            )
        item = None
        if spec.inbox and person.user is not None:
            item = Notification(
                user_id=person.user.id,
                about_holder_id=about_holder.id if about_holder else None,
                event=event.value,
                category=spec.category.value,
                subject=subject,
                body="\n\n".join(message.paragraphs),
                link=_path_only(link),
                action=message.action,
                email=EMAIL_NONE,
            )
            db.session.add(item)
            db.session.flush()
            created.append(item)
        delivery = (
            Delivery.IMMEDIATE
            if person.user is None or spec.transactional
            else _delivery_for(person.user, spec.category)
        )
        if delivery is Delivery.OFF:
            continue
        if delivery is Delivery.DIGEST and item is not None:
            item.email = EMAIL_DIGEST_PENDING
            continue
        email_link = (
            _endpoint_url("notifications.open_item", notification_id=item.id)
            if item is not None
            else absolute(link)
        )
        _queue_email(
            event, person, subject, message, about, email_link, transactional=spec.transactional
        )
        if item is not None:
            item.email = EMAIL_QUEUED
    return created


def _queue_email(
    event: Event,
    person: _Recipient,
    subject: str,
    message: Message,
    about: str | None,
    link: str,
    *,
    transactional: bool,
) -> OutboundEmail:
    preferences_link = None if transactional else _endpoint_url("notifications.preferences")
    text, html = _render_email(
        "notification",
        subject=subject,
        name=person.user.name if person.user else "there",
        about=about,
        paragraphs=message.paragraphs,
        action=message.action,
        link=link,
        preferences_link=preferences_link,
    )
    row = OutboundEmail(
        user_id=person.user.id if person.user else None,
        to_email=person.email,
        event=event.value,
        subject=subject,
        text_body=text,
        html_body=html,
    )
    db.session.add(row)
    db.session.flush()
    outbox.track(db.session(), row)
    return row


def send_digests() -> int:
    """Send one summary email to each person with items waiting for their daily digest.

    Returns how many summaries were queued. For cron, once a day (`carefair mail digest`).
    """
    pending = db.session.scalars(
        select(Notification)
        .where(Notification.email == EMAIL_DIGEST_PENDING)
        .order_by(Notification.user_id, Notification.created_at, Notification.id)
    ).all()
    by_user: dict[int, list[Notification]] = {}
    for item in pending:
        by_user.setdefault(item.user_id, []).append(item)
    queued = 0
    for items in by_user.values():
        user = items[0].user
        for item in items:
            item.email = EMAIL_DIGESTED
        if not user.active:
            continue
        count = len(items)
        subject = f"Your Carefair summary: {count} {'update' if count == 1 else 'updates'}"
        text, html = _render_email(
            "digest",
            subject=subject,
            name=user.name,
            items=[i.subject for i in items],
            action="See your inbox",
            link=_endpoint_url("notifications.inbox"),
            preferences_link=_endpoint_url("notifications.preferences"),
        )
        row = OutboundEmail(
            user_id=user.id,
            to_email=user.email,
            event="digest",
            subject=subject,
            text_body=text,
            html_body=html,
        )
        db.session.add(row)
        db.session.flush()
        outbox.track(db.session(), row)
        queued += 1
    db.session.commit()
    return queued


# ---- the inbox -------------------------------------------------------------------------------


def inbox(
    user: User, *, holder_id: int | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[Notification], int]:
    """A person's inbox items, newest first, optionally only those about one holder."""
    query = select(Notification).where(Notification.user_id == user.id)
    if holder_id is not None:
        query = query.where(Notification.about_holder_id == holder_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def unread_count(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def holders_in_inbox(user: User) -> list[User]:
    """The holders this person's items are about (for the inbox's filter)."""
    ids = db.session.scalars(
        select(Notification.about_holder_id)
        .where(Notification.user_id == user.id, Notification.about_holder_id.is_not(None))
        .distinct()
    ).all()
    if not ids:
        return []
    return list(db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.name)).all())


def _own_item(user: User, notification_id: int) -> Notification:
    item = db.session.get(Notification, notification_id)
    if item is None or item.user_id != user.id:
        raise NotFound("We could not find that notification.")
    return item


def open_item(user: User, notification_id: int) -> Notification:
    """Mark an item read and return it, so the caller can go to what it is about.

    Raises NotFound (also for someone else's item, so its existence is not revealed).
    """
    item = _own_item(user, notification_id)
    if item.read_at is None:
        item.read_at = datetime.now(UTC)
    db.session.commit()
    return item


def mark_read(user: User, notification_id: int) -> Notification:
    return open_item(user, notification_id)


def mark_all_read(user: User) -> int:
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=datetime.now(UTC))
    )
    db.session.commit()
    return getattr(result, "rowcount", 0) or 0


# ---- the messages other code already sends (signatures kept) ---------------------------------


def password_reset(user: User, link: str) -> None:
    """Email a password reset link (called after the reset request has committed)."""
    _after_commit(Event.PASSWORD_RESET, user, link=link)


def sign_up_finish(email: str, link: str) -> None:
    """Email the link that finishes a sign-up to an address with no account yet."""
    _after_commit(Event.SIGN_UP_FINISH, email, link=link)


def sign_up_existing(owner: User) -> None:
    """Tell an account's owner someone tried to sign up with their email (nothing was made)."""
    _after_commit(Event.SIGN_UP_EXISTING, owner, link=_endpoint_url("auth.sign_in"))


def staff_welcome(user: User, link: str) -> None:
    """Welcome a new broker or council admin with a link to set their first password."""
    _after_commit(Event.STAFF_WELCOME, user, link=link)


def delegation_invited(email: str, holder: User, kind_label: str, link: str) -> None:
    """Email an invitation to act for a holder (called after the invitation has committed)."""
    kind = next(
        (k for k in DelegateKind if k.label.lower() == kind_label.lower()), DelegateKind.CIRCLE
    )
    _after_commit(Event.DELEGATION_INVITED, email, about_holder=holder, link=link,
                  context={"holder": holder, "kind": kind})


def authorised_person_recorded(person: User, holder: User, set_password_link: str | None) -> None:
    """Tell someone a broker has recorded them as a holder's authorised person."""
    link = set_password_link or _endpoint_url("auth.sign_in")
    _after_commit(Event.AUTHORISED_PERSON_RECORDED, person, about_holder=holder, link=link,
                  context={"holder": holder})


def _after_commit(event: Event, recipient: User | str, **kwargs) -> None:
    """Queue a notification for an action that has already committed, in its own transaction.

    The action has succeeded, so a failure here is logged rather than shown to the person.
    """
    try:
        send(event, recipient, **kwargs)
        db.session.commit()
    except Exception:  # noqa: BLE001
        log.exception("Could not queue the %s notification", event.value)
        db.session.rollback()


# Vetting check kinds (app.domain.vetting.CheckKind values) as named in messages.
_CHECK_WORDS = {"dbs": "dbs", "cqc": "cqc", "insurance": "insurance", "reference": "references",
                "right_to_work": "right_to_work", "training": "training"}


def vetting_expiring(provider_user: User, check_kind: str, runs_out_on) -> None:
    """A required check runs out soon: tell the provider while there is time to renew it
    (called after the warning job has committed)."""
    _after_commit(Event.VETTING_EXPIRING, provider_user, link=_endpoint_url("provider.vetting"),
                  context={"check": _CHECK_WORDS.get(check_kind, "dbs"), "expires": runs_out_on})


def vetting_expired(provider_user: User, check_kinds: list[str], ran_out_on) -> None:
    """Listings were hidden because checks ran out: tell the provider what to renew, one
    notice per check (called after the expiry job has committed)."""
    link = _endpoint_url("provider.vetting")
    for kind in dict.fromkeys(check_kinds):
        _after_commit(Event.VETTING_EXPIRED, provider_user, link=link,
                      context={"check": _CHECK_WORDS.get(kind, "dbs"), "expires": ran_out_on})
