"""Email delivery through Flask-Mailman: SMTP in production, .eml files in the demo and tests."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app
from flask_mailman import EmailMultiAlternatives
from flask_mailman.backends.base import BaseEmailBackend

from app.extensions import mail

log = logging.getLogger(__name__)


class OutboxBackend(BaseEmailBackend):
    """Writes each message to its own .eml file in MAIL_OUTBOX_DIR (the demo needs no server).

    Flask-Mailman's own file backend appends every message of a connection to one .log file;
    one openable .eml per message is easier for people trying the demo.
    """

    def send_messages(self, email_messages) -> int:
        outbox = Path(current_app.config["MAIL_OUTBOX_DIR"])
        outbox.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            to = "_".join(message.to).replace("@", "_at_")
            path = outbox / f"{stamp}-{random.randrange(10**6):06d}-{to}.eml"  # nosec B311
            path.write_bytes(message.message().as_bytes())
            log.info("Email to %s (%s) written to %s", message.to, message.subject, path)
        return len(email_messages)


@dataclass(frozen=True)
class Outgoing:
    to: str
    subject: str
    text: str
    html: str | None = None


def _connection():
    """A backend built from the current settings (read at send time, so they can change)."""
    config = current_app.config
    backend = config.get("MAIL_BACKEND") or "smtp"
    if backend == "smtp":
        return mail.get_connection(
            backend,
            host=config["MAIL_SERVER"],
            port=int(config["MAIL_PORT"]),
            username=config.get("MAIL_USERNAME"),
            password=config.get("MAIL_PASSWORD"),
            use_tls=bool(config.get("MAIL_USE_TLS")),
            use_ssl=bool(config.get("MAIL_USE_SSL")),
            timeout=config.get("MAIL_TIMEOUT"),
        )
    if backend == "outbox":
        return mail.get_connection(OutboxBackend)
    return mail.get_connection(backend)  # Flask-Mailman's own: console, file, locmem, dummy


def _build(item: Outgoing, connection) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=item.subject,
        body=item.text,
        to=[item.to],
        from_email=current_app.config["MAIL_DEFAULT_SENDER"],
        connection=connection,
    )
    if item.html:
        message.attach_alternative(item.html, "text/html")
    return message


def send_many(items: list[Outgoing]) -> list[str | None]:
    """Send each message over one connection. Returns, per message, None or the error text.

    Never raises for delivery problems: the caller records them and retries later.
    """
    if not items:
        return []
    try:
        connection = _connection()
        connection.open()
    except Exception as err:  # noqa: BLE001 - any failure to connect is a delivery failure
        return [_describe(err)] * len(items)
    results: list[str | None] = []
    try:
        for item in items:
            try:
                sent = connection.send_messages([_build(item, connection)])
                results.append(None if sent == 1 else "The mail server did not accept the message")
            except Exception as err:  # noqa: BLE001
                results.append(_describe(err))
    finally:
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - the messages are already sent or recorded as failed
            log.warning("Closing the mail connection failed", exc_info=True)
    return results


def _describe(err: Exception) -> str:
    return f"{type(err).__name__}: {err}"[:500]


def deliver(to: str, subject: str, text: str) -> None:
    """Send one plain-text message now (kept for callers that do not need the outbox)."""
    error = send_many([Outgoing(to, subject, text)])[0]
    if error:
        raise RuntimeError(error)
