"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives."""

import asyncio
import email
import email.policy
import threading
import time
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from tests.support.servers import free_port


class _Collect:
    def __init__(self, inbox: "LocalSmtpServer"):
        self.inbox = inbox

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.inbox.keep_abandoned and self.inbox.hold_first_seconds and not self.inbox.holding.is_set():
            # The worst case of a sender killed mid-send: the server keeps the message anyway.
            self.inbox._received(email.message_from_bytes(envelope.content, policy=email.policy.default))
            self.inbox.holding.set()
            await asyncio.sleep(self.inbox.hold_first_seconds)
            return "250 OK"
        if self.inbox.hold_first_seconds and not self.inbox.holding.is_set():
            # Keep the first sender waiting (a test kills it meanwhile); a message whose
            # sender vanished before the server answered was never accepted.
            self.inbox.holding.set()
            await asyncio.sleep(self.inbox.hold_first_seconds)
            if server.transport is None or server.transport.is_closing():
                return "421 sender went away"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.inbox._received(message)
        if self.inbox.answer_after_seconds:
            # A slow server: the message is kept (it reaches the mailbox) but the
            # answer comes after the sender's timeout, so the sender cannot know.
            await asyncio.sleep(self.inbox.answer_after_seconds)
        return "250 OK"


class LocalSmtpServer:
    """Start with `start()`; `messages` lists the EmailMessages received, oldest first."""

    def __init__(self, hold_first_seconds: float = 0, answer_after_seconds: float = 0):
        self.hold_first_seconds = hold_first_seconds
        self.answer_after_seconds = answer_after_seconds
        self.keep_abandoned = False
        self.holding = threading.Event()
        self.host = "127.0.0.1"
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self._arrived = threading.Condition()
        self._controller = Controller(_Collect(self), hostname=self.host, port=self.port)

    def start(self) -> "LocalSmtpServer":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def _received(self, message: EmailMessage) -> None:
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[EmailMessage]:
        """The messages once at least `count` have arrived (the server runs in a thread)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} e-mail(s), got {len(self.messages)}")
                self._arrived.wait(left)
            return list(self.messages)

    def to(self, address: str) -> list[EmailMessage]:
        with self._arrived:
            return [m for m in self.messages if str(m["To"]) == address]

    def configure(self, app) -> None:
        """Point the app's mail at this server."""
        app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER=self.host, MAIL_PORT=self.port, MAIL_USE_TLS=False)


@pytest.fixture
def smtp_server(app):
    """A local SMTP server that the `app` sends its mail to."""
    server = LocalSmtpServer().start()
    server.configure(app)
    yield server
    server.stop()
