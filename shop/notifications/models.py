from datetime import datetime

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shop.extensions import Model
from shop.formatting import utcnow


class OutboxEmail(Model):
    """An e-mail written in the same transaction as the change that causes it and
    sent after the commit by the worker. `dedupe_key` makes each notice unique, so
    writing it twice is harmless; `sent_at` makes a second send a no-op. Failed
    attempts are retried with backoff up to a cap, then the row is `failed_at`.

    A row may be written unrendered (`params` set, subject and bodies empty): the
    worker renders it the first time it handles it, stores the subject and bodies and
    clears `params` in one commit before sending, so every copy is the same mail."""

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    to_email: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    claimed_at: Mapped[datetime | None] = mapped_column()
    # The task that holds the claim: a task redelivered after its worker died keeps it.
    claimed_by: Mapped[str] = mapped_column(String(64), default="")
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    # Attempts that may have reached the recipient (the SMTP conversation broke after
    # the message was handed over, or the worker died mid-send); capped lower than attempts.
    maybe_sent: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column()  # backoff: not before this
    failed_at: Mapped[datetime | None] = mapped_column(index=True)  # given up; listed in /ops
    last_error: Mapped[str] = mapped_column(Text, default="")
    # What to render (ids, the recipient's language, links), until it has been rendered.
    params: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
