"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message it receives, for tests."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    @property
    def html(self) -> str | None:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else None

    def links(self) -> list[str]:
        return [w for w in self.text.split() if w.startswith("http")]


class _Collector:
    def __init__(self, into: list[Received]):
        self.into = into

    async def handle_DATA(self, server, session, envelope):
        self.into.append(
            Received(
                envelope.mail_from,
                tuple(envelope.rcpt_tos),
                message_from_bytes(envelope.content, policy=default_policy),
            )
        )
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    """Start, stop and start again on the same port (to test a mail server outage)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[Received] = []
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(
            _Collector(self.messages), hostname="127.0.0.1", port=self.port
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]
