"""Accounts: sign-up, sign-in, passwords and staff creation (argon2 hashes, no enumeration)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.domain.access import Role
from app.domain.districts import parse_home_district, uk_districts
from app.domain.listings import DistrictError
from app.domain.passwords import password_problem
from app.errors import Conflict, InvalidInput, NotFound, NotPermitted
from app.extensions import db
from app.models import User
from app.services import audit

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs the same time as a
# wrong password (no account enumeration by timing).
_DUMMY_HASH = _hasher.hash("carefair-timing-equaliser")

SELF_SERVICE_ROLES = (Role.HOLDER, Role.PROVIDER, Role.SUPPORTER)
STAFF_ROLES = (Role.BROKER, Role.COUNCIL_ADMIN)
RESET_MAX_AGE_SECONDS = 60 * 60
# A first-password link for an account someone else made: they may not read email for days.
WELCOME_MAX_AGE_SECONDS = 72 * 60 * 60
SIGN_UP_MAX_AGE_SECONDS = 24 * 60 * 60


def normalise_email(raw: str) -> str:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as err:
        raise InvalidInput("Enter an email address in the correct format, like name@example.com",
                           field="email") from err


def check_password_strength(password: str, field: str = "password", *,
                            email: str | None = None) -> None:
    """Raises InvalidInput beside `field` if the password is short, common or their email name."""
    problem = password_problem(password, email)
    if problem:
        raise InvalidInput(problem, field=field)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def clean_name(raw: str) -> str:
    """A person's name as an account keeps it. Raises InvalidInput (empty, too long)."""
    name = (raw or "").strip()
    if not name:
        raise InvalidInput("Enter your name", field="name")
    if len(name) > 120:
        raise InvalidInput("Name must be 120 characters or fewer", field="name")
    return name


def _new_user(email: str, name: str, role: Role, password: str | None,
              password_hash: str | None = None) -> User:
    email = normalise_email(email)
    name = clean_name(name)
    if password is not None:
        check_password_strength(password, email=email)
        password_hash = password_hash or hash_password(password)
    if find_by_email(email) is not None:
        raise Conflict("An account with this email address already exists. Sign in, or reset "
                       "your password.", field="email")
    user = User(email=email, name=name, role=role.value, password_hash=password_hash,
                password_changed_at=datetime.now(UTC) if password else None)
    db.session.add(user)
    try:
        # The unique email is the claim: of two sign-ups (or two uses of one sign-up link) at
        # once, the second is refused here rather than with a 500.
        db.session.flush()
    except IntegrityError as err:
        db.session.rollback()
        raise Conflict("An account with this email address already exists. Sign in, or reset "
                       "your password.", field="email") from err
    return user


def sign_up(email: str, name: str, password: str, role: Role, *,
            password_hash: str | None = None) -> User:
    """Self-service sign-up as a budget holder, provider or supporter.

    `password_hash` lets a bulk import (the demo seed) hash one shared password once: argon2
    is slow on purpose. It must be `hash_password(password)`.

    Raises InvalidInput, Conflict (email taken), NotPermitted (staff role).
    """
    if role not in SELF_SERVICE_ROLES:
        raise NotPermitted("Brokers and council admins are created by a council admin.")
    user = _new_user(email, name, role, password, password_hash)
    audit.record(user, "account.signed_up", "user", user.id, details={"role": role.value})
    db.session.commit()
    return user


def _sign_up_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="carefair-sign-up")


def start_sign_up(email: str, name: str, role: Role, *,
                  home_district: str = "") -> tuple[str | None, User | None]:
    """Check a sign-up and return (token, None) for a new email or (None, owner) for a taken one.

    Nothing is created: the account is made only when someone opens the emailed link and
    chooses a password there, so the page cannot reveal that an email has an account, and
    nobody can set the password for an address they cannot read.

    Raises InvalidInput (beside the field), NotPermitted (staff role).
    """
    if role not in SELF_SERVICE_ROLES:
        raise NotPermitted("Brokers and council admins are created by a council admin.")
    email = normalise_email(email)
    name = name.strip()
    if not name:
        raise InvalidInput("Enter your name", field="name")
    if len(name) > 120:
        raise InvalidInput("Name must be 120 characters or fewer", field="name")
    district = ""
    if role is Role.HOLDER and home_district.strip():
        try:
            district = parse_home_district(home_district)
        except DistrictError as err:
            raise InvalidInput(str(err), field="home_district") from None
    owner = find_by_email(email)
    if owner is not None:
        audit.record(None, "account.sign_up_for_existing_email", "user", owner.id)
        db.session.commit()
        return None, owner
    token = _sign_up_serializer().dumps({"email": email, "name": name, "role": role.value,
                                         "district": district})
    return token, None


def sign_up_details(token: str) -> dict[str, str]:
    """The email, name and role in a sign-up link; raises InvalidInput if it is not valid."""
    try:
        data = _sign_up_serializer().loads(token, max_age=SIGN_UP_MAX_AGE_SECONDS)
    except SignatureExpired as err:
        raise InvalidInput("This link has expired. Create your account again.") from err
    except BadSignature as err:
        raise InvalidInput("This link is not valid. Create your account again.") from err
    return {"email": data["email"], "name": data["name"], "role": data["role"],
            "district": data.get("district", "")}


def finish_sign_up(token: str, password: str) -> User:
    """Create the account from an emailed sign-up link with the password chosen now.

    Raises InvalidInput (bad link, weak password beside the field), Conflict (already used).
    """
    details = sign_up_details(token)
    if find_by_email(details["email"]) is not None:
        raise Conflict("This link has already been used. Sign in, or reset your password.")
    check_password_strength(password, "new_password", email=details["email"])
    user = _new_user(details["email"], details["name"], Role(details["role"]), password)
    audit.record(user, "account.signed_up", "user", user.id, details={"role": user.role})
    # Checked again: a link sent before districts were checked may carry one not in use, which
    # would put the holder in a market of nobody (they or a broker can record it later).
    if details["district"] in uk_districts() and user.role_enum is Role.HOLDER:
        user.home_district = details["district"]
        audit.record(user, "holder.home_district_changed", "user", user.id,
                     details={"old": None, "new": user.home_district})
    db.session.commit()
    return user


def create_staff(email: str, name: str, role: Role, password: str | None, *, actor: User | None,
                 password_hash: str | None = None) -> User:
    """A council admin (or the CLI, actor None) creates a broker or council admin account."""
    if role not in STAFF_ROLES:
        raise InvalidInput("Staff accounts are brokers or council admins.", field="role")
    if actor is not None and actor.role_enum is not Role.COUNCIL_ADMIN:
        raise NotPermitted("Only a council admin can create staff accounts.")
    user = _new_user(email, name, role, password, password_hash)
    audit.record(actor, "account.staff_created", "user", user.id,
                 details={"role": role.value, "email": user.email})
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user if the email and password match an active account, else None (same for both)."""
    user = find_by_email(email) if email else None
    try:
        _hasher.verify(user.password_hash if user and user.password_hash else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.password_hash or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.commit()
    return user


def _end_sessions(user: User) -> None:
    """Make every session and remember-me cookie of this account worthless (joins the caller's
    transaction). A single UPDATE, so two at once both count."""
    db.session.execute(
        update(User).where(User.id == user.id)
        .values(session_generation=User.session_generation + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(user, ["session_generation"])


def sign_out(user: User) -> None:
    """Signing out ends every session of the account, on every device, not only this one's."""
    _end_sessions(user)
    audit.record(user, "account.signed_out", "user", user.id)
    db.session.commit()


def staff_member(user_id: int) -> User:
    """A broker's or council admin's account, for the page that asks before closing it.
    Raises NotFound."""
    user = db.session.get(User, user_id)
    if user is None or user.role_enum not in STAFF_ROLES:
        raise NotFound("We could not find that staff account.")
    return user


def deactivate(user_id: int, *, actor: User) -> User:
    """A council admin closes a staff account: it can no longer sign in, and every session it
    has open ends now. Raises NotFound, NotPermitted."""
    if actor.role_enum is not Role.COUNCIL_ADMIN:
        raise NotPermitted("Only a council admin can deactivate staff accounts.")
    user = db.session.get(User, user_id, with_for_update=True)
    if user is None or user.role_enum not in STAFF_ROLES:
        raise NotFound("We could not find that staff account.")
    if user.id == actor.id:
        raise NotPermitted("You cannot deactivate your own account. Ask another council admin.")
    if user.active:
        user.active = False
        _end_sessions(user)
        audit.record(actor, "account.deactivated", "user", user.id,
                     details={"role": user.role, "email": user.email})
        db.session.commit()
    return user


def record_sign_in(user: User) -> None:
    audit.record(user, "account.signed_in", "user", user.id)
    db.session.commit()


def change_password(user: User, current: str, new: str) -> None:
    """Raises InvalidInput naming the field that is wrong."""
    try:
        _hasher.verify(user.password_hash or _DUMMY_HASH, current)
    except (VerificationError, InvalidHashError) as err:
        raise InvalidInput("Your current password is not right", field="current_password") from err
    check_password_strength(new, field="new_password", email=user.email)
    user.password_hash = hash_password(new)
    user.password_changed_at = datetime.now(UTC)
    # Every other session ends (a copied cookie, a forgotten shared computer); the view signs
    # this one in again under the new generation.
    _end_sessions(user)
    audit.record(user, "account.password_changed", "user", user.id)
    db.session.commit()


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="carefair-password-reset")


def _password_fingerprint(user: User) -> str:
    # Part of the token so a reset link stops working once the password has changed.
    return hashlib.sha256((user.password_hash or "unset").encode()).hexdigest()[:16]


def make_reset_token(user: User) -> str:
    return _reset_serializer().dumps({"uid": user.id, "fp": _password_fingerprint(user)})


def make_welcome_token(user: User) -> str:
    """A link to set the first password of an account made for someone (72 hours, one use)."""
    return _reset_serializer().dumps({"uid": user.id, "fp": _password_fingerprint(user),
                                      "welcome": True})


def request_password_reset(email: str) -> tuple[User, str] | None:
    """Returns the user and token if the account exists. Callers answer the same either way."""
    user = find_by_email(email) if email else None
    if user is None or not user.active:
        return None
    audit.record(None, "account.password_reset_requested", "user", user.id)
    db.session.commit()
    return user, make_reset_token(user)


def reset_password(token: str, new: str) -> User:
    try:
        data, signed_at = _reset_serializer().loads(token, max_age=WELCOME_MAX_AGE_SECONDS,
                                                    return_timestamp=True)
        limit = WELCOME_MAX_AGE_SECONDS if data.get("welcome") else RESET_MAX_AGE_SECONDS
        if (datetime.now(UTC) - signed_at).total_seconds() > limit:
            raise SignatureExpired("expired")
    except SignatureExpired as err:
        raise InvalidInput("This link has expired. Ask for a new one.") from err
    except BadSignature as err:
        raise InvalidInput("This link is not valid. Ask for a new one.") from err
    used = InvalidInput("This link has already been used. Ask for a new one.")
    uid = data.get("uid")
    user = db.session.get(User, uid) if isinstance(uid, int) else None
    if user is None or data.get("fp") != _password_fingerprint(user):
        raise used
    check_password_strength(new, field="new_password", email=user.email)
    # Claimed atomically: the new password is written only where the old one is still there,
    # so of two requests with the same link at once exactly one sets a password.
    claimed = db.session.execute(
        update(User)
        .where(User.id == user.id, User.password_hash.is_(None) if user.password_hash is None
               else User.password_hash == user.password_hash)
        .values(password_hash=hash_password(new), password_changed_at=datetime.now(UTC),
                session_generation=User.session_generation + 1)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise used
    db.session.refresh(user)
    audit.record(user, "account.password_reset", "user", user.id)
    db.session.commit()
    return user


def new_token() -> tuple[str, str]:
    """A random URL-safe token and the hash we store for it."""
    token = secrets.token_urlsafe(24)
    return token, hashlib.sha256(token.encode()).hexdigest()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
