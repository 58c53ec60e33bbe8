"""Writing, editing and moderating reviews. Each use case commits once; the product's
rating_sum/rating_count (visible reviews only) change in the same transaction, under a
row lock on the product so two reviews at once cannot lose a count.

Who may review: the buyer (the order's user) of an order line whose sub-order is
delivered, once per line; they may edit it for EDIT_DAYS after writing it."""

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from shop.audit import services as audit
from shop.catalog.changes import note_tags
from shop.catalog.models import Product, Variant
from shop.errors import NotFound, ShopError
from shop.extensions import db
from shop.formatting import utcnow
from shop.orders.models import OrderLine
from shop.portal import images
from shop.reviews.models import Review, ReviewPhoto
from shop.reviews.notices import notify_review_hidden
from shop.storage import MEDIA, StorageError, storage

log = logging.getLogger(__name__)

EDIT_DAYS = 30
MAX_PHOTOS = 3
MAX_BODY = 2000


class ReviewError(ShopError):
    code = "invalid_review"


@dataclass(frozen=True)
class Photo:
    filename: str
    data: bytes


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive UTC times.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def can_edit(review: Review, now: datetime | None = None) -> bool:
    return (now or utcnow()) <= _aware(review.created_at) + timedelta(days=EDIT_DAYS)


def reviewable_line(user_id: int, line_id: int) -> OrderLine:
    """The user's delivered order line whose product still exists, or NotFound/ReviewError."""
    line = db.session.get(OrderLine, line_id)
    if line is None or line.sub_order.order.user_id != user_id:
        raise NotFound(_("Không tìm thấy sản phẩm trong đơn của bạn."))
    if line.sub_order.status != "delivered":
        raise ReviewError(_("Chỉ đánh giá được sản phẩm đã giao tới bạn."), code="not_delivered")
    if line.variant_id is None:
        raise ReviewError(_("Sản phẩm này không còn bán trên sàn."), code="product_gone")
    return line


def _check(rating: int | None, body: str) -> tuple[int, str]:
    if rating is None or not 1 <= rating <= 5:
        raise ReviewError(_("Chọn số sao từ 1 đến 5."), code="rating")
    body = (body or "").strip()
    if len(body) > MAX_BODY:
        raise ReviewError(_("Nội dung tối đa %(n)d ký tự.", n=MAX_BODY), code="body")
    return rating, body


def _locked_product(product_id: int) -> Product:
    return db.session.scalars(select(Product).where(Product.id == product_id).with_for_update()).one()


def _processed(photos: list[Photo], room: int) -> list[images.ProcessedImage]:
    photos = [p for p in photos if p.filename or p.data]
    if len(photos) > room:
        raise ReviewError(_("Mỗi đánh giá có tối đa %(n)d ảnh.", n=MAX_PHOTOS), code="too_many_photos")
    out = []
    for photo in photos:
        try:
            out.append(images.process_product_image(photo.data))
        except images.RejectedFile:
            raise ReviewError(
                _("%(name)s: không phải ảnh JPEG, PNG hoặc WebP dùng được (tối đa 20 MB).", name=photo.filename or "?"),
                code="invalid_image",
            ) from None
    return out


def _store(review: Review, pictures: list[images.ProcessedImage], written: list[str]) -> None:
    position = max((p.position for p in review.photos), default=-1) + 1
    for offset, picture in enumerate(pictures):
        path = f"reviews/{review.product_id}/{secrets.token_hex(16)}.jpg"
        try:
            storage().put(MEDIA, path, picture.full)
            written.append(path)
            storage().put(MEDIA, path[: -len(".jpg")] + "-400.jpg", picture.thumb)
            written.append(path[: -len(".jpg")] + "-400.jpg")
        except StorageError:
            log.error("could not store review photo %s", path, exc_info=True)
            raise ReviewError(_("Không lưu được ảnh lúc này; vui lòng thử lại sau ít phút."), code="storage") from None
        review.photos.append(
            ReviewPhoto(path=path, width=picture.width, height=picture.height, position=position + offset)
        )


def _commit(written: list[str]) -> None:
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        for key in written:
            try:
                storage().delete(MEDIA, key)
            except StorageError:
                log.warning("could not remove %s", key)
        raise


def write_review(user_id: int, line_id: int, rating: int | None, body: str, photos: Sequence[Photo] = ()) -> int:
    """A buyer's review of a delivered order line; returns its id. One per line."""
    line = reviewable_line(user_id, line_id)
    rating, body = _check(rating, body)
    if db.session.scalar(select(Review.id).where(Review.order_line_id == line.id)) is not None:
        raise ReviewError(_("Bạn đã đánh giá sản phẩm này trong đơn hàng này."), code="already_reviewed")
    pictures = _processed(list(photos), MAX_PHOTOS)
    product = _locked_product(
        db.session.execute(select(Variant.product_id).where(Variant.id == line.variant_id)).scalar_one()
    )
    order = line.sub_order.order
    review = Review(
        order_line_id=line.id,
        product_id=product.id,
        producer_id=product.producer_id,
        user_id=user_id,
        author_name=_first_name(order.recipient),
        rating=rating,
        body=body,
    )
    db.session.add(review)
    product.rating_sum += rating
    product.rating_count += 1
    note_tags(db.session, f"p:{product.id}")
    written: list[str] = []
    _store(review, pictures, written)
    _commit(written)
    return review.id


def _first_name(full: str) -> str:
    """Vietnamese names end with the given name: "Nguyễn Thị Lan" is shown as "Lan"."""
    parts = (full or "").split()
    return parts[-1][:120] if parts else "—"


def _own_review(user_id: int, review_id: int) -> Review:
    review = db.session.get(Review, review_id)
    if review is None or review.user_id != user_id:
        raise NotFound(_("Không tìm thấy đánh giá."))
    return review


def edit_review(
    user_id: int,
    review_id: int,
    rating: int | None,
    body: str,
    photos: Sequence[Photo] = (),
    now: datetime | None = None,
) -> int:
    """Change one's own review within EDIT_DAYS of writing it; new photos are added
    (up to MAX_PHOTOS in all). Returns the product's id."""
    review = _own_review(user_id, review_id)
    if not can_edit(review, now):
        raise ReviewError(_("Đã quá %(n)d ngày, không sửa được đánh giá này nữa.", n=EDIT_DAYS), code="too_late")
    rating, body = _check(rating, body)
    pictures = _processed(list(photos), MAX_PHOTOS - len(review.photos))
    product = _locked_product(review.product_id)
    if not review.hidden:
        product.rating_sum += rating - review.rating
    review.rating = rating
    review.body = body
    review.updated_at = now or utcnow()
    note_tags(db.session, f"p:{product.id}")
    written: list[str] = []
    _store(review, pictures, written)
    _commit(written)
    return product.id


def hide_review(operator_id: int, review_id: int, reason: str) -> Review:
    """An operator hides a review with a reason (audit-logged); it leaves the average."""
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError(_("Ghi lý do ẩn đánh giá."), code="reason")
    review = db.session.get(Review, review_id)
    if review is None:
        raise NotFound(_("Không tìm thấy đánh giá."))
    if review.hidden:
        raise ReviewError(_("Đánh giá này đã bị ẩn."), code="already_hidden")
    product = _locked_product(review.product_id)
    before = audit.snapshot(review, ("hidden", "hidden_reason"))
    review.hidden = True
    review.hidden_reason = reason[:2000]
    product.rating_sum -= review.rating
    product.rating_count -= 1
    audit.record(
        operator_id,
        "review.hide",
        "review",
        review.id,
        label=f"{product.name} — {review.author_name} ({review.rating}★)",
        reason=reason,
        before=before,
        after=audit.snapshot(review, ("hidden", "hidden_reason")),
    )
    note_tags(db.session, f"p:{product.id}")
    notify_review_hidden(review, review.hidden_reason)  # the buyer is told, in the same transaction
    db.session.commit()
    return review
