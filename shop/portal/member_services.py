"""Producer portal use cases: members (the owner invites staff by e-mail; a link
accepts the invitation) and their removal.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from shop.accounts.models import ProducerInvite, ProducerMember, User
from shop.errors import NotFound
from shop.extensions import db
from shop.formatting import utcnow
from shop.notifications.services import notify_invite
from shop.portal.inputs import PortalError, _email, get_producer

INVITE_MAX_AGE = timedelta(days=7)


@dataclass(frozen=True)
class InviteCreated:
    invite_id: int
    token: str  # only ever here: the database keeps its SHA-256


def list_members(producer_id: int) -> list[ProducerMember]:
    return list(
        db.session.scalars(
            select(ProducerMember)
            .where(ProducerMember.producer_id == producer_id)
            .options(selectinload(ProducerMember.user))
            .order_by(ProducerMember.role, ProducerMember.created_at)  # "owner" sorts before "staff"
        )
    )


def pending_invites(producer_id: int) -> list[ProducerInvite]:
    return list(
        db.session.scalars(
            select(ProducerInvite)
            .where(
                ProducerInvite.producer_id == producer_id,
                ProducerInvite.accepted_at.is_(None),
                ProducerInvite.created_at > utcnow() - INVITE_MAX_AGE,
            )
            .order_by(ProducerInvite.created_at.desc())
        )
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_staff(producer_id: int, inviter_id: int, email: str) -> InviteCreated:
    """Invite someone by e-mail to work on the shop as staff. The token goes into
    the e-mailed link; a new invitation to the same address replaces the old one."""
    producer = get_producer(producer_id)
    address = _email(email)
    already = db.session.scalar(
        select(func.count())
        .select_from(ProducerMember)
        .join(User)
        .where(ProducerMember.producer_id == producer.id, User.email == address)
    )
    if already:
        raise PortalError(
            _("%(email)s đã là thành viên của cơ sở.", email=address), code="already_member", field="email"
        )
    db.session.execute(
        delete(ProducerInvite).where(
            ProducerInvite.producer_id == producer.id,
            ProducerInvite.email == address,
            ProducerInvite.accepted_at.is_(None),
        )
    )
    token = secrets.token_urlsafe(32)
    invite = ProducerInvite(producer=producer, email=address, token_hash=_token_hash(token), invited_by_id=inviter_id)
    db.session.add(invite)
    db.session.flush()
    notify_invite(invite.id, token)  # the e-mail goes into the outbox in this transaction
    db.session.commit()
    return InviteCreated(invite_id=invite.id, token=token)


def invite_for_token(token: str) -> ProducerInvite:
    """The invitation a link is for, if it can still be used (no change)."""
    invite = db.session.scalars(
        select(ProducerInvite).where(ProducerInvite.token_hash == _token_hash(token or ""))
    ).one_or_none()
    if invite is None:
        raise PortalError(_("Lời mời không hợp lệ hoặc đã bị hủy."), code="invite_invalid")
    if invite.accepted_at is not None:
        raise PortalError(_("Lời mời này đã được dùng."), code="invite_used")
    created = invite.created_at if invite.created_at.tzinfo else invite.created_at.replace(tzinfo=UTC)  # SQLite
    if created < utcnow() - INVITE_MAX_AGE:
        raise PortalError(
            _("Lời mời đã hết hạn (sau 7 ngày). Hãy nhờ chủ cơ sở gửi lời mời mới."), code="invite_expired"
        )
    return invite


def accept_invite(token: str, user_id: int) -> int:
    """The signed-in user whose e-mail the invitation was sent to joins the producer
    as staff. Returns the producer's id."""
    invite = invite_for_token(token)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("Không tìm thấy tài khoản."))
    if user.email != invite.email:
        raise PortalError(
            _(
                "Lời mời này dành cho %(invited)s, nhưng bạn đang đăng nhập bằng %(email)s. "
                "Hãy đăng xuất rồi đăng nhập đúng tài khoản.",
                invited=invite.email,
                email=user.email,
            ),
            code="invite_wrong_user",
        )
    member = db.session.scalars(
        select(ProducerMember).where(
            ProducerMember.user_id == user.id, ProducerMember.producer_id == invite.producer_id
        )
    ).one_or_none()
    if member is None:
        db.session.add(ProducerMember(user=user, producer_id=invite.producer_id, role="staff"))
    if user.role == "shopper":
        user.role = "producer"
    invite.accepted_at = utcnow()
    try:
        db.session.commit()
    except IntegrityError:  # the same link opened twice at once: the first one counts
        db.session.rollback()
    return invite.producer_id


def revoke_invite(producer_id: int, invite_id: int) -> None:
    invite = db.session.scalars(
        select(ProducerInvite).where(ProducerInvite.id == invite_id, ProducerInvite.producer_id == producer_id)
    ).one_or_none()
    if invite is None:
        raise NotFound(_("Không tìm thấy lời mời."))
    db.session.delete(invite)
    db.session.commit()


def remove_member(producer_id: int, member_id: int) -> None:
    """Take a staff member off the shop (the owner stays)."""
    member = db.session.scalars(
        select(ProducerMember).where(ProducerMember.id == member_id, ProducerMember.producer_id == producer_id)
    ).one_or_none()
    if member is None:
        raise NotFound(_("Không tìm thấy thành viên."))
    if member.role == "owner":
        raise PortalError(_("Không thể xóa chủ cơ sở."), code="owner")
    db.session.delete(member)
    db.session.commit()
