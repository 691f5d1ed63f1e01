"""Council API tokens: made by a council admin with scopes and an expiry, shown once, revocable, each use audited."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app import clock
from app.domain.access import Role
from app.domain.errors import InvalidInput, NotAuthenticated, NotFound, NotPermitted
from app.extensions import db
from app.models import ApiToken, User
from app.services import audit

# Each scope opens a family of /api/v1 routes; a token has only the scopes it was given.
SCOPES: dict[str, str] = {
    "providers:read": "Read providers and listings",
    "holders:read": "Read budget holders and their districts",
    "budgets:read": "Read budgets, balances and instalments",
    "budgets:write": "Create budgets and record instalments",
    "delegations:read": "Read who acts for whom",
    "bookings:read": "Read bookings and sessions",
    "remittance:read": "Read remittance lines for council-managed budgets",
    "flags:read": "Read brokerage flags",
    "market:read": "Read market figures",
    "imports:write": "Import providers, holders, budgets and historical bookings",
}
PREFIX = "cfk_"  # says what the secret is when it turns up in a log or a paste
MAX_DAYS = 366
MAX_NAME = 80
UK = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class NewToken:
    """A token just created: `secret` exists only here, never again."""

    token: ApiToken
    secret: str


def end_of_uk_day(day: date) -> datetime:
    """The last moment of `day` in the UK, in UTC: a token works through the whole expiry day
    and not into the next (in summer the UK day ends at 23:00 UTC)."""
    next_day = datetime.combine(day + timedelta(days=1), time.min, tzinfo=UK)
    return next_day.astimezone(UTC) - timedelta(microseconds=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _require_admin(actor: User) -> None:
    if actor.role_enum is not Role.COUNCIL_ADMIN:
        raise NotPermitted("Only council admins can manage API tokens.")


def create(actor: User, name: str, scopes: list[str], expires_on: date | None, *,
           today: date | None = None) -> NewToken:
    """Create a token; its secret is returned once and only its hash is stored.

    Raises NotPermitted (not a council admin), InvalidInput (name, scopes, expires_on).
    """
    _require_admin(actor)
    today = today or clock.now().astimezone(UK).date()
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Enter a name that says which system will use the token", field="name")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"Enter a name of {MAX_NAME} characters or fewer", field="name")
    chosen = sorted(set(scopes or []))
    if not chosen:
        raise InvalidInput("Choose at least one thing the token may do", field="scopes")
    if any(s not in SCOPES for s in chosen):
        raise InvalidInput("Choose scopes from the list", field="scopes")
    if expires_on is None or not today < expires_on <= today + timedelta(days=MAX_DAYS):
        raise InvalidInput(f"Enter an expiry date after today and within {MAX_DAYS} days",
                           field="expires_on")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=_hash(secret), prefix=secret[:12], scopes=chosen,
                     expires_at=end_of_uk_day(expires_on), created_by_id=actor.id)
    db.session.add(token)
    db.session.flush()
    audit.record(actor, "api_token.created", "api_token", token.id,
                 details={"name": name, "scopes": chosen, "expires_on": expires_on.isoformat()})
    db.session.commit()
    return NewToken(token, secret)


def revoke(actor: User, token_id: int) -> ApiToken:
    """Revoke a token at once. Revoking twice is harmless. Raises NotPermitted, NotFound."""
    _require_admin(actor)
    token = db.session.get(ApiToken, token_id, with_for_update=True)
    if token is None:
        raise NotFound("There is no such API token.")
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        token.revoked_by_id = actor.id
        audit.record(actor, "api_token.revoked", "api_token", token.id, details={"name": token.name})
        db.session.commit()
    return token


def get_token(token_id: int) -> ApiToken:
    """One token, for the page that asks before revoking it. Raises NotFound."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("There is no such API token.")
    return token


def all_tokens() -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def authenticate(secret: str | None, *, now: datetime | None = None) -> ApiToken:
    """The live token for a presented secret. Raises NotAuthenticated (missing, unknown,
    expired, revoked, or its admin no longer active), all with one plain message each."""
    if not secret:
        raise NotAuthenticated("Send an API token: Authorization: Bearer <token>.")
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(secret.strip())))
    if token is None:
        raise NotAuthenticated("This API token is not valid.")
    if token.revoked_at is not None:
        raise NotAuthenticated("This API token has been revoked.")
    if token.expires_at <= (now or clock.now()):
        raise NotAuthenticated("This API token has expired.")
    admin = token.created_by
    if not admin.active or admin.role_enum is not Role.COUNCIL_ADMIN:
        raise NotAuthenticated("The council admin who created this API token no longer has access.")
    return token


def id_of(secret: str | None) -> int | None:
    """The id of the token a presented secret belongs to, live or not (None: no such token)."""
    if not secret:
        return None
    return db.session.scalar(select(ApiToken.id).where(ApiToken.token_hash == _hash(secret.strip())))


def require_scope(token: ApiToken, scope: str) -> None:
    """Raises NotPermitted when the token was not given `scope`."""
    if scope not in token.scopes:
        raise NotPermitted(f"This API token may not do that: it needs the scope {scope}.")


def record_use(token_id: int, method: str, path: str, status: int) -> None:
    """Audit one use of a token under its name (its own commit, after the request's work)."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        return
    token.last_used_at = clock.now()
    audit.record(token.created_by, "api_token.used", "api_token", token.id,
                 details={"token": token.name, "method": method, "path": path[:300], "status": status})
    db.session.commit()
