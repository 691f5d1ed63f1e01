"""Email delivery. The demo and tests write each message to a folder; see issue 8 for SMTP."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from flask import current_app

log = logging.getLogger(__name__)


def deliver(to: str, subject: str, text: str) -> Path:
    """Write the message as an .eml file in the outbox folder and return its path."""
    message = EmailMessage()
    message["To"] = to
    message["From"] = "Carefair <no-reply@carefair.example>"
    message["Subject"] = subject
    message.set_content(text)
    outbox = Path(current_app.config["MAIL_OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    path = outbox / f"{stamp}-{to.replace('@', '_at_')}.eml"
    path.write_bytes(bytes(message))
    log.info("Email to %s (%s) written to %s", to, subject, path)
    return path
