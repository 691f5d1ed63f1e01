"""Delegation: holders invite and revoke nominated people and circle members; brokers record
authorised people; anyone may see whom they can act for.

When a delegation becomes active, a delegate who is also one of the holder's providers is put
before a broker at once (rule provider_is_delegate), not at the next brokerage scan: Carefair
informs and protects, so the delegation stands and the broker decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select, update

from app import clock
from app.domain.access import DelegateKind, Grant, LegalBasis, Role, Share
from app.domain.errors import InvariantBroken
from app.domain.rules.safeguarding import provider_is_delegate
from app.errors import Conflict, InvalidInput, NotFound, NotPermitted
from app.extensions import db
from app.models import Delegation, User
from app.models.delegation import STATUS_ACTIVE, STATUS_INVITED, STATUS_REVOKED
from app.services import accounts, audit, council_settings, flags, market_snapshot


@dataclass(frozen=True)
class ActingFor:
    """One holder a user may act for, and how."""

    holder: User
    grant: Grant
    delegation: Delegation | None


def grant_for(user: User, holder_id: int) -> Grant | None:
    """The user's standing towards a holder, or None if they may not act for them."""
    if user.id == holder_id and user.role_enum is Role.HOLDER:
        return Grant(holder_id=user.id, kind=None)
    delegation = db.session.scalar(
        select(Delegation).where(
            Delegation.holder_id == holder_id,
            Delegation.delegate_id == user.id,
            Delegation.status == STATUS_ACTIVE,
        )
    )
    if delegation is None:
        return None
    return Grant(holder_id=holder_id, kind=delegation.kind_enum, shares=delegation.share_set)


def holders_for(user: User) -> list[ActingFor]:
    """Everyone this user may act for: themselves first if they hold a budget, then others."""
    result: list[ActingFor] = []
    if user.role_enum is Role.HOLDER:
        result.append(ActingFor(user, Grant(holder_id=user.id, kind=None), None))
    rows = db.session.scalars(
        select(Delegation)
        .where(Delegation.delegate_id == user.id, Delegation.status == STATUS_ACTIVE)
        .order_by(Delegation.id)
    ).all()
    for d in rows:
        result.append(ActingFor(d.holder, Grant(d.holder_id, d.kind_enum, d.share_set), d))
    return result


def delegations_of(holder_id: int) -> list[Delegation]:
    """Everyone who acts, or was invited to act, for a holder (revoked ones last)."""
    return list(db.session.scalars(
        select(Delegation).where(Delegation.holder_id == holder_id)
        .order_by(Delegation.status == STATUS_REVOKED, Delegation.created_at.desc())
    ).all())


def delegations_visible_to(user: User, grant: Grant) -> list[Delegation]:
    """Who acts for the holder, as this viewer may see it. A circle member sees only their own
    standing: the holder shared chosen things with them, not the names and legal basis of
    everyone else who helps."""
    rows = delegations_of(grant.holder_id)
    if grant.kind is DelegateKind.CIRCLE:
        return [d for d in rows if d.delegate_id == user.id]
    return rows


def _file_if_provider(delegation: Delegation) -> flags.Filed:
    """File provider_is_delegate for this delegation in the caller's transaction (the caller
    commits, then calls flags.after_filing). Reuses the scan's rule over a narrow snapshot."""
    db.session.flush()
    if not (delegation.delegate_id is not None):
        raise InvariantBroken("expected: delegation.delegate_id is not None")
    snapshot = market_snapshot.delegation_snapshot(delegation.holder_id, delegation.delegate_id)
    if not snapshot.providers:
        return flags.Filed()
    settings = council_settings.current()
    return flags.file_findings(provider_is_delegate(snapshot, settings))


def _require_holder(holder_id: int) -> User:
    holder = db.session.get(User, holder_id)
    if holder is None or holder.role_enum is not Role.HOLDER:
        raise NotFound("We could not find that budget holder.")
    return holder


def invite(actor: User, holder_id: int, email: str, kind: DelegateKind,
           shares: set[Share]) -> tuple[Delegation, str]:
    """Invite a nominated person or a circle member. Returns the delegation and the secret token.

    The caller must already hold HOLDER_MANAGE_DELEGATES for this holder.
    Raises InvalidInput, Conflict, NotPermitted.
    """
    holder = _require_holder(holder_id)
    if kind is DelegateKind.AUTHORISED:
        raise NotPermitted("An authorised person is recorded by a broker, with the legal basis.")
    email = accounts.normalise_email(email)
    if email == holder.email:
        raise InvalidInput("You cannot invite yourself", field="email")
    if kind is DelegateKind.NOMINATED and shares:
        shares = set()  # a nominated person manages the money, so sees everything needed for it
    if kind is DelegateKind.CIRCLE and not shares:
        raise InvalidInput("Choose at least one thing to share", field="shares")
    existing = db.session.scalar(
        select(Delegation).where(
            Delegation.holder_id == holder.id,
            Delegation.invited_email == email,
            Delegation.status.in_([STATUS_INVITED, STATUS_ACTIVE]),
        )
    )
    if existing is not None:
        raise Conflict("This person has already been invited or already acts for you. Revoke "
                       "that first if you want to change what they can do.", field="email")
    token, token_hash = accounts.new_token()
    delegation = Delegation(
        holder_id=holder.id, kind=kind.value, status=STATUS_INVITED, invited_email=email,
        invite_token_hash=token_hash, shares=",".join(sorted(s.value for s in shares)),
        created_by_id=actor.id,
    )
    db.session.add(delegation)
    db.session.flush()
    audit.record(actor, "delegation.invited", "delegation", delegation.id, on_behalf_of=holder,
                 details={"kind": kind.value, "email": email, "shares": delegation.shares})
    db.session.commit()
    return delegation, token


def invitation(token: str) -> Delegation:
    delegation = db.session.scalar(
        select(Delegation).where(Delegation.invite_token_hash == accounts.token_hash(token))
    )
    if delegation is None or delegation.status != STATUS_INVITED:
        raise NotFound("This invitation is not valid, or has already been used or withdrawn.")
    return delegation


def accept(user: User, token: str) -> Delegation:
    """The invited person accepts while signed in with the invited email address."""
    delegation = invitation(token)
    if user.email != delegation.invited_email:
        raise NotPermitted("This invitation was sent to a different email address. Sign in with "
                           "the address it was sent to.")
    if user.id == delegation.holder_id:
        raise NotPermitted("You cannot act for yourself.")
    # Claimed atomically: only a still-invited row with this token changes, so the same link
    # opened twice at once (or after a withdrawal) makes one delegation, not two acceptances.
    claimed = db.session.execute(
        update(Delegation)
        .where(Delegation.id == delegation.id, Delegation.status == STATUS_INVITED,
               Delegation.invite_token_hash == accounts.token_hash(token))
        .values(delegate_id=user.id, status=STATUS_ACTIVE, accepted_at=clock.now(),
                invite_token_hash=None)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise NotFound("This invitation is not valid, or has already been used or withdrawn.")
    db.session.refresh(delegation)
    audit.record(user, "delegation.accepted", "delegation", delegation.id,
                 on_behalf_of=delegation.holder, details={"kind": delegation.kind})
    filed = _file_if_provider(delegation)
    db.session.commit()
    flags.after_filing(filed)
    return delegation


def revoke(actor: User, delegation_id: int, *, reason: str = "") -> Delegation:
    """End a delegation. Allowed for the holder, their authorised person (not for themselves),
    the delegate stepping down, or a broker. Raises NotFound, NotPermitted."""
    delegation = db.session.get(Delegation, delegation_id)
    if delegation is None:
        raise NotFound("We could not find that person.")
    actor_grant = grant_for(actor, delegation.holder_id)
    may = (
        actor.role_enum is Role.BROKER
        or actor.id == delegation.delegate_id
        or (actor_grant is not None and (
            actor_grant.is_self
            or (actor_grant.kind is DelegateKind.AUTHORISED
                and delegation.kind_enum is not DelegateKind.AUTHORISED)
        ))
    )
    if not may:
        # Someone with no standing should not learn that the delegation exists.
        if actor_grant is None:
            raise NotFound("We could not find that person.")
        raise NotPermitted("Only the budget holder, their authorised person or a broker can "
                           "remove someone.")
    if delegation.kind_enum is DelegateKind.AUTHORISED and actor.role_enum is not Role.BROKER \
            and actor.id != delegation.delegate_id:
        raise NotPermitted("An authorised person can only be removed by a broker.")
    if delegation.status == STATUS_REVOKED:
        return delegation
    delegation.status = STATUS_REVOKED
    delegation.revoked_at = clock.now()
    delegation.revoked_by_id = actor.id
    delegation.invite_token_hash = None
    audit.record(actor, "delegation.revoked", "delegation", delegation.id,
                 on_behalf_of=delegation.holder,
                 details={"kind": delegation.kind, "reason": reason.strip()[:500]})
    db.session.commit()
    return delegation


# How long the person who removed a helper can take it back (a slip of the finger on a phone).
UNDO_WINDOW = timedelta(minutes=10)


def undo_deadline(delegation: Delegation, actor: User) -> datetime | None:
    """Until when `actor` may undo removing this helper, or None when they may not.

    Only the person who removed them (not a helper who stepped down), only a helper who had
    taken up the role (a delegate is set only then; a withdrawn invitation's link is gone), and
    only within UNDO_WINDOW.
    """
    if (delegation.status != STATUS_REVOKED or delegation.revoked_by_id != actor.id
            or delegation.revoked_at is None
            or delegation.delegate_id is None or delegation.delegate_id == actor.id):
        return None
    deadline = delegation.revoked_at + UNDO_WINDOW
    return deadline if clock.now() < deadline else None


def restore(actor: User, delegation_id: int) -> Delegation:
    """Undo removing a helper, within ten minutes, by the person who removed them.

    The helper gets back exactly the standing they had. Raises NotFound, NotPermitted.
    """
    delegation = db.session.scalar(
        select(Delegation).where(Delegation.id == delegation_id).with_for_update())
    if delegation is None or (delegation.revoked_by_id != actor.id
                              and grant_for(actor, delegation.holder_id) is None):
        raise NotFound("We could not find that person.")
    if undo_deadline(delegation, actor) is None:
        raise NotPermitted("It is too late to undo that. To let them help again, invite them "
                           "again.")
    again = db.session.scalar(select(Delegation.id).where(
        Delegation.holder_id == delegation.holder_id, Delegation.id != delegation.id,
        Delegation.status != STATUS_REVOKED,
        or_(Delegation.delegate_id == delegation.delegate_id,
            Delegation.invited_email == delegation.invited_email)))
    if again is not None:
        raise NotPermitted("They have been invited again since, so there is nothing to undo.")
    delegation.status = STATUS_ACTIVE
    delegation.revoked_at = None
    delegation.revoked_by_id = None
    audit.record(actor, "delegation.restored", "delegation", delegation.id,
                 on_behalf_of=delegation.holder, details={"kind": delegation.kind})
    filed = _file_if_provider(delegation)
    db.session.commit()
    flags.after_filing(filed)
    return delegation


def record_authorised_person(broker: User, holder_id: int, email: str, name: str,
                             legal_basis: LegalBasis, review_date: date,
                             notes: str = "", *, today: date | None = None) -> tuple[Delegation, str | None]:
    """A broker records an authorised person (Care Act s.32) for a holder who lacks capacity.

    Creates a supporter account if the person has none; returns a set-password token then.
    Raises InvalidInput, Conflict, NotPermitted, NotFound.
    """
    if broker.role_enum is not Role.BROKER:
        raise NotPermitted("Only a broker can record an authorised person.")
    holder = _require_holder(holder_id)
    today = today or date.today()
    if review_date <= today:
        raise InvalidInput("The review date must be in the future", field="review_date")
    if review_date.year > today.year + 5:
        raise InvalidInput("The review date must be within 5 years", field="review_date")
    email = accounts.normalise_email(email)
    person = accounts.find_by_email(email)
    set_password_token = None
    if person is None:
        person = accounts._new_user(email, name, Role.SUPPORTER, None)
        audit.record(broker, "account.created_for_authorised_person", "user", person.id,
                     on_behalf_of=holder)
    if person.id == holder.id:
        raise InvalidInput("The holder cannot be their own authorised person", field="email")
    if grant_for(person, holder.id) is not None:
        raise Conflict("This person already acts for the holder. Remove that first.", field="email")
    delegation = Delegation(
        holder_id=holder.id, delegate_id=person.id, kind=DelegateKind.AUTHORISED.value,
        status=STATUS_ACTIVE, invited_email=email, legal_basis=legal_basis.value,
        review_date=review_date, notes=notes.strip() or None, created_by_id=broker.id,
        accepted_at=clock.now(),
    )
    db.session.add(delegation)
    db.session.flush()
    audit.record(broker, "delegation.authorised_recorded", "delegation", delegation.id,
                 on_behalf_of=holder,
                 details={"legal_basis": legal_basis.value, "review_date": review_date.isoformat(),
                          "delegate_id": person.id})
    filed = _file_if_provider(delegation)
    db.session.commit()
    flags.after_filing(filed)
    if person.password_hash is None:
        set_password_token = accounts.make_welcome_token(person)  # 72 hours, not 1
    return delegation, set_password_token


def holders_matching(text: str, limit: int = 50) -> list[User]:
    """Broker look-up of budget holders by name or email."""
    query = select(User).where(User.role == Role.HOLDER.value)
    if text.strip():
        like = f"%{text.strip().lower()}%"
        query = query.where(or_(User.email.like(like), User.name.ilike(like)))
    return list(db.session.scalars(query.order_by(User.name).limit(limit)).all())
