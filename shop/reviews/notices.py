"""The e-mail a buyer gets when an operator hides their review, through the outbox
(written in the hiding transaction, sent after its commit, in the buyer's language)."""

from flask_babel import gettext as _

from shop.accounts.models import User
from shop.extensions import db
from shop.notifications.services import order_link, queue_email
from shop.orders.models import OrderLine
from shop.reviews.models import Review


def notify_review_hidden(review: Review, reason: str) -> None:
    """Tell the author which review was hidden and why, with a link to their order."""
    user = db.session.get(User, review.user_id)
    if user is None or not user.active:
        return
    line = db.session.get_one(OrderLine, review.order_line_id)
    product = review.product.name
    queue_email(
        "review_hidden",
        f"review:{review.id}:hidden:{review.updated_at.isoformat()}",
        user.email,
        user.locale or "vi",
        "review_hidden",
        lambda: _("Đánh giá của bạn về %(product)s đã bị ẩn", product=product),
        user=user,
        review=review,
        product=product,
        reason=reason,
        link=order_link(line.sub_order.order),
    )
