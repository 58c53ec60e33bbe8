"""Console page for e-mails the worker gave up on (/ops/email-loi): who they were
for, what went wrong, and "Gửi lại" to start their attempts over."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from shop.notifications import services as notifications
from shop.operator import bp
from shop.queue import enqueue


@bp.get("/email-loi")
def failed_emails():
    return render_template("operator/failed_emails.html", emails=notifications.failed_emails())


@bp.post("/email-loi/<int:outbox_id>/gui-lai")
def failed_email_resend(outbox_id: int):
    row = notifications.resend_failed(outbox_id, current_user.id)
    enqueue("notifications.send", row.id)  # after the commit; the sweeper catches up if Redis is away
    flash(_("Đã xếp lịch gửi lại e-mail tới %(to)s.", to=row.to_email), "success")
    return redirect(url_for(".failed_emails"), code=303)
