"""Telling people what happened. Messages carry no health details and no money amounts."""

from __future__ import annotations

from app.adapters import mail
from app.models import User


def password_reset(user: User, link: str) -> None:
    mail.deliver(
        user.email,
        "Reset your Carefair password",
        f"Hello {user.name},\n\nSomeone asked to reset the password for your Carefair account. "
        f"If it was you, use this link within one hour:\n\n{link}\n\n"
        "If it was not you, you can ignore this email: your password has not changed.\n",
    )


def delegation_invited(email: str, holder: User, kind_label: str, link: str) -> None:
    mail.deliver(
        email,
        f"{holder.name} has invited you to help on Carefair",
        f"Hello,\n\n{holder.name} has invited you to be their {kind_label.lower()} on Carefair.\n\n"
        f"To accept, sign in or create an account with this email address, then open:\n\n{link}\n",
    )


def authorised_person_recorded(person: User, holder: User, set_password_link: str | None) -> None:
    extra = (f"\nSet your password here to sign in:\n\n{set_password_link}\n"
             if set_password_link else "\nSign in as usual to act for them.\n")
    mail.deliver(
        person.email,
        f"You can now act for {holder.name} on Carefair",
        f"Hello {person.name},\n\nA broker has recorded you as the authorised person for "
        f"{holder.name} on Carefair.\n{extra}",
    )


def vetting_expired(provider_user: User, items: list[str]) -> None:
    """Some listings were hidden because vetting evidence ran out: say what to renew."""
    lines = "\n".join(f"- {item}" for item in items) or "- Check your vetting checklist"
    mail.deliver(
        provider_user.email,
        "Some of your Carefair listings are hidden until you renew your checks",
        f"Hello {provider_user.name},\n\nPeople cannot see some of your listings at the moment "
        f"because a vetting check is out of date. To show them again, renew:\n\n{lines}\n\n"
        "Sign in to Carefair and open your vetting checklist to send the new details.\n",
    )
