"""Brokers' declared conflicts of interest with providers: declaring, ending, and the check that
keeps a broker from approving or arranging bookings with a provider they declared."""

from __future__ import annotations

from sqlalchemy import func, select

from app import clock
from app.domain.access import Role
from app.domain.rules import model as facts
from app.errors import InvalidInput, NotFound, NotPermitted
from app.extensions import db
from app.models import ConflictDeclaration, ProviderProfile, User
from app.services import audit

MAX_DESCRIPTION = 500


class ConflictOfInterest(NotPermitted):
    """The broker declared a conflict of interest with this booking's provider."""


def _require_broker(actor: User) -> None:
    if actor.role_enum is not Role.BROKER:
        raise NotPermitted("Only brokers declare conflicts of interest here.")


def find_provider(text: str) -> ProviderProfile:
    """The provider a broker means: their number, or their name (exactly, or the start of one
    name only). Raises InvalidInput on the field `provider` with what to type instead."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput("Enter the provider's name or number", field="provider")
    if text.isdigit():
        # Plain digits of a real id only: unicode digits and huge numbers are no provider.
        number = int(text) if text.isascii() and len(text) <= 9 else 0
        profile = db.session.get(ProviderProfile, number) if number else None
        if profile is None:
            raise InvalidInput(f"There is no provider number {text}", field="provider")
        return profile
    exact = db.session.scalars(select(ProviderProfile).where(
        func.lower(ProviderProfile.display_name) == text.lower()).limit(2)).all()
    matches = exact or db.session.scalars(select(ProviderProfile).where(
        func.lower(ProviderProfile.display_name).startswith(text.lower(), autoescape=True))
        .order_by(ProviderProfile.display_name).limit(6)).all()
    if not matches:
        raise InvalidInput(f"No provider is called “{text[:60]}”", field="provider")
    if len(matches) > 1:
        names = ", ".join(f"{p.display_name} (number {p.id})" for p in matches[:5])
        raise InvalidInput(f"More than one provider matches: {names}. Enter the number",
                           field="provider")
    return matches[0]


def declare(broker: User, provider_text: str, description: str) -> ConflictDeclaration:
    """Record a conflict (audited). One transaction. Raises InvalidInput, NotPermitted."""
    _require_broker(broker)
    description = (description or "").strip()
    if not description:
        raise InvalidInput("Say what the conflict is, for example “my sister works there”",
                           field="description")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"Describe it in {MAX_DESCRIPTION} characters or fewer",
                           field="description")
    provider = find_provider(provider_text)
    if has_conflict(broker.id, provider.id):
        raise InvalidInput(f"You have already declared a conflict with {provider.display_name}",
                           field="provider")
    conflict = ConflictDeclaration(broker_id=broker.id, provider_profile_id=provider.id,
                                   description=description)
    db.session.add(conflict)
    db.session.flush()
    audit.record(broker, "conflict.declared", "conflict", conflict.id,
                 details={"provider_id": provider.id, "description": description})
    db.session.commit()
    return conflict


def end(broker: User, conflict_id: int, reason: str) -> ConflictDeclaration:
    """End one's own declared conflict with a reason (audited). Raises NotFound, InvalidInput."""
    conflict = db.session.scalar(select(ConflictDeclaration).where(
        ConflictDeclaration.id == conflict_id).with_for_update())
    if conflict is None or conflict.broker_id != broker.id or conflict.ended_at is not None:
        raise NotFound("We could not find that conflict of interest.")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why the conflict has ended", field="reason")
    conflict.ended_at = clock.now()
    conflict.ended_reason = reason[:MAX_DESCRIPTION]
    audit.record(broker, "conflict.ended", "conflict", conflict.id,
                 details={"provider_id": conflict.provider_profile_id, "reason": reason})
    db.session.commit()
    return conflict


def of_broker(broker_id: int) -> list[ConflictDeclaration]:
    return list(db.session.scalars(select(ConflictDeclaration).where(
        ConflictDeclaration.broker_id == broker_id)
        .order_by(ConflictDeclaration.ended_at.is_not(None), ConflictDeclaration.id.desc())))


def has_conflict(broker_id: int, provider_id: int) -> bool:
    return db.session.scalar(select(ConflictDeclaration.id).where(
        ConflictDeclaration.broker_id == broker_id,
        ConflictDeclaration.provider_profile_id == provider_id,
        ConflictDeclaration.ended_at.is_(None)).limit(1)) is not None


def refuse_if_conflicted(broker: User, provider_id: int, doing: str) -> None:
    """Raises ConflictOfInterest when the broker declared a standing conflict with the provider
    (the approve and arrange use cases call it inside their transaction)."""
    if has_conflict(broker.id, provider_id):
        raise ConflictOfInterest(
            f"You declared a conflict of interest with this provider, so you cannot {doing}. "
            "Ask another broker.")


def snapshot_conflicts() -> tuple[facts.ConflictOfInterest, ...]:
    """Every conflict a broker declared, ended ones too, with when it ended: the rule counts the
    bookings arranged before then over its whole window (market_snapshot.build_snapshot)."""
    return tuple(facts.ConflictOfInterest(b, p, d, ended) for b, p, d, ended in db.session.execute(
        select(ConflictDeclaration.broker_id, ConflictDeclaration.provider_profile_id,
               ConflictDeclaration.description, ConflictDeclaration.ended_at)
        .order_by(ConflictDeclaration.id)))
