"""Sending e-mail: the one place that talks to an SMTP server.

MAIL_BACKEND "smtp" (the default when MAIL_SERVER is set) sends through
MAIL_SERVER:MAIL_PORT with a timeout, STARTTLS when MAIL_USE_TLS and a login
when MAIL_USERNAME is set; "file" (the default otherwise) writes each message
as an .eml file into MAIL_DIR and logs where, so development needs no server.
"""

import contextlib
import hashlib
import logging
import smtplib
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app

log = logging.getLogger(__name__)


class MaybeDelivered(Exception):
    """The SMTP conversation broke after the message was handed over (a timeout or a
    dropped connection during DATA): the server may have accepted it."""


def stable_message_id(key: str) -> str:
    """A Message-ID that is the same for every copy of one message (`key` names it),
    so that a copy sent again after a doubtful attempt is recognisably the same mail."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"<{digest}@{_sender_domain(current_app.config['MAIL_FROM'])}>"


def build_message(
    to: str, subject: str, text: str, html: str | None = None, message_id: str | None = None
) -> EmailMessage:
    """A multipart/alternative message (plain text first, HTML second)."""
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id or make_msgid(domain=_sender_domain(config["MAIL_FROM"]))
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


def send_email(to: str, subject: str, text: str, html: str | None = None, message_id: str | None = None) -> None:
    """Send one message; raises on failure: MaybeDelivered when the message may have
    arrived all the same, smtplib.SMTPException or OSError when it cannot have."""
    config = current_app.config
    message = build_message(to, subject, text, html, message_id)
    backend = config.get("MAIL_BACKEND") or ("smtp" if config.get("MAIL_SERVER") else "file")
    if backend == "smtp":
        _send_smtp(message, config)
    elif backend == "file":
        _write_file(message, Path(config["MAIL_DIR"]))
    else:
        raise ValueError(f"unknown MAIL_BACKEND {backend!r} (smtp or file)")


def _send_smtp(message: EmailMessage, config) -> None:
    smtp = smtplib.SMTP(config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=config["MAIL_TIMEOUT"])
    try:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        try:
            smtp.send_message(message)
        except smtplib.SMTPServerDisconnected as exc:
            raise MaybeDelivered(f"SMTPServerDisconnected: {exc}") from exc
        except smtplib.SMTPException:
            raise  # the server answered with a refusal: not delivered
        except OSError as exc:  # a timeout waiting for the answer to DATA, a reset
            raise MaybeDelivered(f"{type(exc).__name__}: {exc}") from exc
        # Accepted: a slow or broken QUIT changes nothing.
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.quit()
    finally:
        smtp.close()
    log.info("mail sent to %s: %s", message["To"], message["Subject"])


def _write_file(message: EmailMessage, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
    path.write_bytes(message.as_bytes())
    # A warning, not info: in production it means no mail reaches anyone (MAIL_SERVER unset).
    log.warning("mail to %s not sent but written to %s: %s", message["To"], path, message["Subject"])


def _sender_domain(sender: str) -> str:
    address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
    return address.rpartition("@")[2] or "localhost"
