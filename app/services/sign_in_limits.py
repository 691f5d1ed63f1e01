"""Sign-in limits that slow a guesser without letting a stranger lock anyone out.

Failures are counted per (email typed, client address) pair, in the database so every worker
and machine sees the same counts. After a few free failures the pair waits, doubling each time
(30 s, 1 min, 2 min ... up to 15 min), so a guesser at one address gets a handful of tries an
hour, while:
- the owner at their own address is never slowed by failures typed elsewhere (a stranger can
  only slow the stranger's own pair);
- an address trying many different emails (password spraying) is refused new guesses for a
  while, but never for an email that has signed in from that address before: the people behind
  one council office's or care home's shared address keep signing in.
The email typed is stored only as a keyed hash (someone's password typed into the email box
must never be kept).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import clock
from app.extensions import db
from app.models import SignInThrottle


@dataclass(frozen=True)
class Limits:
    free_failures: int = 5  # per pair, before any wait
    first_wait_seconds: int = 30
    longest_wait_seconds: int = 15 * 60
    spray_emails: int = 30  # different emails failing from one address within the window ...
    spray_window_seconds: int = 15 * 60  # ... make that address a sprayer for new emails

    @classmethod
    def from_config(cls) -> Limits:
        return current_app.config.get("SIGN_IN_LIMITS") or cls()


def _email_key(email: str) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, (email or "").strip().lower().encode(), hashlib.sha256).hexdigest()


def _pair(email: str, address: str) -> SignInThrottle | None:
    return db.session.scalar(select(SignInThrottle).where(
        SignInThrottle.email_key == _email_key(email), SignInThrottle.address == address[:64]))


def wait_seconds(email: str, address: str) -> int:
    """How long this pair must wait before its next try (0: go ahead). Reads only."""
    limits = Limits.from_config()
    now = clock.now()
    pair = _pair(email, address)
    if pair is not None and pair.blocked_until is not None and pair.blocked_until > now:
        return max(1, int((pair.blocked_until - now).total_seconds()))
    if pair is not None and pair.last_success_at is not None:
        return 0  # known here: never refused because of what others typed from this address
    since = now - timedelta(seconds=limits.spray_window_seconds)
    failing_emails = db.session.scalar(
        select(func.count()).select_from(SignInThrottle).where(
            SignInThrottle.address == address[:64], SignInThrottle.failures > 0,
            SignInThrottle.last_failure_at >= since))
    if (failing_emails or 0) >= limits.spray_emails:
        return limits.spray_window_seconds
    return 0


def _locked_pair(email: str, address: str) -> SignInThrottle:
    key, address = _email_key(email), address[:64]
    query = select(SignInThrottle).where(SignInThrottle.email_key == key,
                                         SignInThrottle.address == address).with_for_update()
    pair = db.session.scalar(query)
    if pair is not None:
        return pair
    try:
        with db.session.begin_nested():
            pair = SignInThrottle(email_key=key, address=address, failures=0)
            db.session.add(pair)
    except IntegrityError:
        # Two first failures at once: the other request made the row; use it.
        pair = db.session.scalar(query)
        if pair is None:
            raise RuntimeError("A sign-in count vanished while it was being made") from None
    return pair


def failed(email: str, address: str) -> None:
    """Count a wrong password (or unknown email) for this pair; set its wait. One commit."""
    limits = Limits.from_config()
    now = clock.now()
    pair = _locked_pair(email, address)
    pair.failures = (pair.failures or 0) + 1
    pair.last_failure_at = now
    over = pair.failures - limits.free_failures
    if over >= 0:
        wait = min(limits.first_wait_seconds * 2 ** min(over, 20), limits.longest_wait_seconds)
        pair.blocked_until = now + timedelta(seconds=wait)
    db.session.commit()


def succeeded(email: str, address: str) -> None:
    """The pair signed in: its count starts again, and it is known at this address. One commit."""
    pair = _locked_pair(email, address)
    pair.failures = 0
    pair.blocked_until = None
    pair.last_success_at = clock.now()
    db.session.commit()
