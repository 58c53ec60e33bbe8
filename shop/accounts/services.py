"""Account use cases: sign-up, e-mail verification, sign-in, password reset,
profile and delivery addresses. They take plain values, commit once, and
raise AccountError (a ShopError naming the form field at fault) on refusal.

E-mails are sent after the commit by separate functions (`send_*_email`), so
that moving them to the worker later changes only where they are called. They
log a mail server that does not answer rather than raise: the account change
is already committed, and the shopper can ask for the e-mail again.
"""

import logging
from datetime import timedelta

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from shop.accounts import tokens
from shop.accounts.models import ROLES, Address, LoginSession, ProducerMember, User
from shop.accounts.passwords import hash_password, needs_rehash, verify_password
from shop.accounts.phone import InvalidPhone, normalise_phone
from shop.accounts.rules import InvalidEmail, normalise_email, password_problem
from shop.database import rowcount
from shop.errors import NotFound, ShopError
from shop.extensions import db
from shop.formatting import utcnow
from shop.notifications.mail import send_email
from shop.places.models import Province, Ward
from shop.producers.models import Producer
from shop.urls import absolute_url

log = logging.getLogger(__name__)


class AccountError(ShopError):
    """A refusal about one field of a form (`field`), or the form as a whole (None)."""

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message, code=code)
        self.field = field


class InvalidCredentials(AccountError):
    status = 401
    code = "invalid_credentials"


# --- checks shared by the use cases ------------------------------------------


def _email(raw: str) -> str:
    try:
        return normalise_email(raw)
    except InvalidEmail:
        raise AccountError(_("Địa chỉ email không hợp lệ."), code="invalid_email", field="email") from None


def _password(password: str, field: str = "password") -> str:
    problem = password_problem(password)
    if problem:
        raise AccountError(str(problem), code="weak_password", field=field)
    return password


def _phone(raw: str, field: str = "phone", required: bool = True) -> str:
    if not (raw or "").strip():
        if required:
            raise AccountError(_("Vui lòng nhập số điện thoại."), code="invalid_phone", field=field)
        return ""
    try:
        return normalise_phone(raw)
    except InvalidPhone:
        raise AccountError(
            _("Số điện thoại không hợp lệ (ví dụ: 0912 345 678)."), code="invalid_phone", field=field
        ) from None


def _text(raw: str, field: str, max_length: int, message: str) -> str:
    value = " ".join((raw or "").split())
    if not value:
        raise AccountError(message, code="required", field=field)
    return value[:max_length]


def _locale(locale: str) -> str:
    return locale if locale in current_app.config["LANGUAGES"] else current_app.config["BABEL_DEFAULT_LOCALE"]


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("Không tìm thấy tài khoản."))
    return user


def _user_by_email(email: str) -> User | None:
    return db.session.scalars(select(User).where(User.email == email)).one_or_none()


def _email_taken() -> AccountError:
    return AccountError(
        _("Email này đã có tài khoản. Hãy đăng nhập, hoặc dùng “Quên mật khẩu” nếu không nhớ mật khẩu."),
        code="email_taken",
        field="email",
    )


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


# --- sign-up and e-mail verification -----------------------------------------


def register(email: str, password: str, name: str, phone: str = "", locale: str = "vi") -> User:
    """Create a shopper account; returns the user. The caller then sends the
    verification e-mail with `send_verification_email(user.id)`."""
    user = User(
        email=_email(email),
        password_hash="",
        name=_text(name, "name", 120, _("Vui lòng nhập họ tên.")),
        phone=_phone(phone, required=False),
        locale=_locale(locale),
        role="shopper",
    )
    _password(password)
    if _user_by_email(user.email) is not None:
        raise _email_taken()
    user.password_hash = hash_password(password)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:  # the same address signed up a moment ago
        db.session.rollback()
        raise _email_taken() from None
    return user


def account_for_checkout(email: str, password: str, name: str, phone: str, locale: str) -> User | None:
    """The account a checkout's "create a password" field leads to.

    The address's own account when the password is its own (the caller signs it in).
    Otherwise None, and the order goes on as a guest's, with the same answer and an
    e-mail either way, so the form cannot tell anyone whether an address has an
    account: a new address gets an unverified account and its verification e-mail
    (signing in, once verified, brings the guest order into it); an address with an
    account gets a notice that an order was started with it. The password's rules are
    checked first, for every address, since a refusal seen only by new addresses
    would say as much."""
    normalised = _email(email)
    _password(password)
    user = _user_by_email(normalised)
    if user is None:
        try:
            created = register(normalised, password, name, phone, locale)
        except AccountError as err:
            if err.code != "email_taken":  # a bad name or phone: the shopper's to fix
                raise
        else:
            send_verification_email(created.id)
            return None
    try:
        return authenticate(normalised, password)
    except AccountError:
        if user is not None and user.active:
            _send_templated(user, "checkout_account", absolute_url("accounts.login"), _subject_checkout_account)
        return None


def send_verification_email(user_id: int) -> bool:
    """E-mail the verification link, valid 3 days, in the user's language;
    False when not sent (already verified, or the mail server failed)."""
    user = db.session.get(User, user_id)
    if user is None or user.email_verified_at is not None:
        return False
    token = tokens.make_token(_secret(), tokens.VERIFY_EMAIL, {"uid": user.id, "email": user.email})
    return _send_templated(user, "verify", absolute_url("accounts.verify_email", token=token), _subject_verify)


def resend_verification(user_id: int) -> bool:
    """Send the verification e-mail again; False when the address is already verified."""
    user = _user(user_id)
    if user.email_verified_at is not None:
        return False
    send_verification_email(user.id)
    return True


def verification_target(token: str) -> User:
    """The user a verification link is for, if it can still be used (no change)."""
    try:
        payload = tokens.read_token(_secret(), tokens.VERIFY_EMAIL, token, current_app.config["EMAIL_VERIFY_MAX_AGE"])
    except tokens.TokenExpired:
        raise AccountError(
            _("Liên kết xác minh đã hết hạn. Hãy đăng nhập và bấm “Gửi lại email xác minh”."), code="token_expired"
        ) from None
    except tokens.TokenInvalid:
        raise AccountError(_("Liên kết không hợp lệ."), code="token_invalid") from None
    user = db.session.get(User, payload.get("uid"))
    if user is None or user.email != payload.get("email"):
        raise AccountError(_("Liên kết không hợp lệ."), code="token_invalid")
    if user.email_verified_at is not None:
        raise AccountError(_("Email này đã được xác minh rồi."), code="already_verified")
    return user


def verify_email(token: str) -> User:
    """Mark the address of a verification link as verified; the link then stops working."""
    user = verification_target(token)
    user.email_verified_at = utcnow()
    db.session.commit()
    return user


# --- sign-in and password reset ------------------------------------------------


def authenticate(email: str, password: str) -> User:
    """The user with this e-mail and password, or InvalidCredentials (the same
    refusal, in the same time, for an unknown e-mail and a wrong password).
    A hash made with older Argon2 parameters is replaced on the way."""
    try:
        user = _user_by_email(normalise_email(email))
    except InvalidEmail:
        user = None
    # Always verify (against a dummy hash when there is no user) to take the same time.
    if not verify_password(user.password_hash if user else None, password):
        raise InvalidCredentials(_("Email hoặc mật khẩu không đúng."))
    assert user is not None
    if not user.active:
        raise AccountError(_("Tài khoản này đã bị khóa. Vui lòng liên hệ bộ phận hỗ trợ."), code="account_disabled")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.commit()
    return user


# --- sign-in sessions ------------------------------------------------------------


def _end_sessions(user_id: int, keep_token: str | None = None) -> None:
    query = delete(LoginSession).where(LoginSession.user_id == user_id)
    if keep_token:
        query = query.where(LoginSession.token_hash != tokens.session_token_hash(keep_token))
    db.session.execute(query)


def start_session(user_id: int, lifetime_seconds: int) -> str:
    """Open a sign-in session for the user; the returned token goes into the
    session cookie. The user's expired sessions are cleared on the way."""
    now = utcnow()
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user_id, LoginSession.expires_at <= now))
    token = tokens.new_session_token()
    db.session.add(
        LoginSession(
            user_id=user_id,
            token_hash=tokens.session_token_hash(token),
            created_at=now,
            expires_at=now + timedelta(seconds=lifetime_seconds),
        )
    )
    db.session.commit()
    return token


def end_session(token: str | None) -> None:
    """Sign one browser out: its cookie, and every copy of it, opens nothing more."""
    if token:
        db.session.execute(delete(LoginSession).where(LoginSession.token_hash == tokens.session_token_hash(token)))
        db.session.commit()


def end_all_sessions(user_id: int) -> int:
    """Sign the user out everywhere ("Đăng xuất khỏi mọi thiết bị"); how many sessions ended."""
    ended = rowcount(db.session.execute(delete(LoginSession).where(LoginSession.user_id == user_id)))
    db.session.commit()
    return ended or 0


def request_password_reset(email: str) -> None:
    """E-mail a reset link if an active account has this address. Says nothing
    either way, so the form cannot be used to find out who has an account."""
    try:
        user = _user_by_email(normalise_email(email))
    except InvalidEmail:
        return
    if user is not None and user.active:
        send_reset_email(user.id)


def send_reset_email(user_id: int) -> bool:
    """E-mail a password reset link, valid one hour and for one use; False when not sent."""
    user = _user(user_id)
    token = tokens.make_token(
        _secret(), tokens.RESET_PASSWORD, {"uid": user.id, "fp": tokens.password_fingerprint(user.password_hash)}
    )
    return _send_templated(user, "reset", absolute_url("accounts.reset_password", token=token), _subject_reset)


def reset_target(token: str) -> User:
    """The user a reset link is for, if it can still be used (no change)."""
    try:
        payload = tokens.read_token(
            _secret(), tokens.RESET_PASSWORD, token, current_app.config["PASSWORD_RESET_MAX_AGE"]
        )
    except tokens.TokenExpired:
        raise AccountError(
            _("Liên kết đặt lại mật khẩu đã hết hạn (hiệu lực 1 giờ). Hãy yêu cầu liên kết mới."),
            code="token_expired",
        ) from None
    except tokens.TokenInvalid:
        raise AccountError(_("Liên kết không hợp lệ."), code="token_invalid") from None
    user = db.session.get(User, payload.get("uid"))
    if user is None or not user.active:
        raise AccountError(_("Liên kết không hợp lệ."), code="token_invalid")
    if payload.get("fp") != tokens.password_fingerprint(user.password_hash):
        raise AccountError(
            _("Liên kết này đã được dùng. Mỗi liên kết đặt lại mật khẩu chỉ dùng được một lần."), code="token_used"
        )
    return user


def reset_password(token: str, new_password: str) -> User:
    """Set a new password from a reset link; the link (and any other issued
    before) stops working, every signed-in session of the account ends, and
    the address counts as verified."""
    user = reset_target(token)
    user.password_hash = hash_password(_password(new_password))
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    _end_sessions(user.id)
    db.session.commit()
    return user


# --- profile ----------------------------------------------------------------------


def update_profile(user_id: int, name: str, phone: str, locale: str) -> User:
    """Change the name, phone and language (of e-mails and pages)."""
    user = _user(user_id)
    user.name = _text(name, "name", 120, _("Vui lòng nhập họ tên."))
    user.phone = _phone(phone, required=False)
    user.locale = _locale(locale)
    db.session.commit()
    return user


def change_password(user_id: int, current_password: str, new_password: str, keep_session: str | None = None) -> User:
    """Replace the password after checking the current one; every other signed-in
    session ends (`keep_session`, the token of the browser asking, stays)."""
    user = _user(user_id)
    if not verify_password(user.password_hash, current_password):
        raise AccountError(_("Mật khẩu hiện tại không đúng."), code="wrong_password", field="current_password")
    user.password_hash = hash_password(_password(new_password, field="new_password"))
    _end_sessions(user.id, keep_token=keep_session)
    db.session.commit()
    return user


# --- addresses ----------------------------------------------------------------------


def _owned_address(user_id: int, address_id: int) -> Address:
    address = db.session.scalars(
        select(Address).where(Address.id == address_id, Address.user_id == user_id)
    ).one_or_none()
    if address is None:
        raise NotFound(_("Không tìm thấy địa chỉ này."))
    return address


def _address_values(recipient: str, phone: str, province_id: int | None, ward_id: int | None, street: str) -> dict:
    province = db.session.get(Province, province_id) if province_id else None
    if province is None:
        raise AccountError(_("Chọn tỉnh/thành phố."), code="province_required", field="province_id")
    ward = db.session.get(Ward, ward_id) if ward_id else None
    if ward is None:
        raise AccountError(_("Chọn phường/xã."), code="ward_required", field="ward_id")
    if ward.province_id != province.id:
        raise AccountError(
            _("Phường/xã đã chọn không thuộc %(province)s. Vui lòng chọn lại.", province=province.name),
            code="ward_not_in_province",
            field="ward_id",
        )
    return {
        "recipient": _text(recipient, "recipient", 120, _("Vui lòng nhập tên người nhận.")),
        "phone": _phone(phone),
        "province_id": province.id,
        "ward_id": ward.id,
        "street": _text(street, "street", 200, _("Vui lòng nhập số nhà, tên đường/thôn, xóm.")),
    }


def _make_default(user_id: int, address: Address) -> None:
    for other in db.session.scalars(select(Address).where(Address.user_id == user_id, Address.is_default)):
        other.is_default = False
    address.is_default = True


def add_address(
    user_id: int,
    *,
    recipient: str,
    phone: str,
    province_id: int | None,
    ward_id: int | None,
    street: str,
    make_default: bool = False,
) -> Address:
    """Save a delivery address; the first one, or one asked for, becomes the default."""
    _user(user_id)
    address = Address(user_id=user_id, **_address_values(recipient, phone, province_id, ward_id, street))
    has_default = db.session.scalar(select(Address.id).where(Address.user_id == user_id, Address.is_default))
    db.session.add(address)
    if make_default or has_default is None:
        _make_default(user_id, address)
    db.session.commit()
    return address


def update_address(
    user_id: int,
    address_id: int,
    *,
    recipient: str,
    phone: str,
    province_id: int | None,
    ward_id: int | None,
    street: str,
    make_default: bool = False,
) -> Address:
    """Change one of the user's addresses (NotFound for anyone else's)."""
    address = _owned_address(user_id, address_id)
    for key, value in _address_values(recipient, phone, province_id, ward_id, street).items():
        setattr(address, key, value)
    if make_default:
        _make_default(user_id, address)
    db.session.commit()
    return address


def set_default_address(user_id: int, address_id: int) -> Address:
    """Make this address the one checkout offers first."""
    address = _owned_address(user_id, address_id)
    _make_default(user_id, address)
    db.session.commit()
    return address


def delete_address(user_id: int, address_id: int) -> None:
    """Remove an address; if it was the default, the oldest remaining one takes over.
    Orders keep their own copy of the address, so they are not affected."""
    address = _owned_address(user_id, address_id)
    was_default = address.is_default
    db.session.delete(address)
    db.session.flush()
    if was_default:
        heir = db.session.scalars(
            select(Address).where(Address.user_id == user_id).order_by(Address.id).limit(1)
        ).one_or_none()
        if heir is not None:
            heir.is_default = True
    db.session.commit()


# --- accounts made by operators and the demo --------------------------------------


def _new_user(email: str, role: str, password: str, producer_slug: str | None, name: str) -> User:
    if role not in ROLES:
        raise AccountError(_("Vai trò không hợp lệ."), code="invalid_role", field="role")
    if (role == "producer") != bool(producer_slug):
        raise AccountError(
            _("Chỉ tài khoản nhà sản xuất, và mọi tài khoản nhà sản xuất, cần chỉ rõ nhà sản xuất."),
            code="producer_required",
        )
    user = User(
        email=_email(email),
        password_hash=hash_password(_password(password)),
        name=" ".join(name.split()) or email.split("@")[0],
        role=role,
        email_verified_at=utcnow(),
    )
    if _user_by_email(user.email) is not None:
        raise _email_taken()
    producer = None
    if producer_slug:
        producer = db.session.scalars(select(Producer).where(Producer.slug == producer_slug)).one_or_none()
        if producer is None:
            raise NotFound(_("Không có nhà sản xuất “%(slug)s”.", slug=producer_slug))
    db.session.add(user)
    if producer is not None:
        db.session.add(ProducerMember(user=user, producer=producer, role="owner"))
    return user


def create_user(email: str, role: str, password: str, producer_slug: str | None = None, name: str = "") -> User:
    """An account with a verified address, for operators to set up staff: a
    producer account becomes the owner of the producer `producer_slug`."""
    user = _new_user(email, role, password, producer_slug, name)
    db.session.commit()
    return user


DEMO_PASSWORD = "demo12345"
DEMO_USERS = (
    ("khach@demo.ocop.vn", "shopper", None, "Khách Demo"),
    ("nongdan@demo.ocop.vn", "producer", "htx-chan-nuoi-ong-phong-tho", "Nông dân Demo"),
    ("vanhanh@demo.ocop.vn", "operator", None, "Vận hành Demo"),
)


def seed_demo_users() -> int:
    """The demo sign-ins (password "demo12345"), made once; returns how many are new.
    Needs the demo producers to be loaded first."""
    added = 0
    for email, role, producer_slug, name in DEMO_USERS:
        if _user_by_email(email) is None:
            _new_user(email, role, DEMO_PASSWORD, producer_slug, name)
            added += 1
    db.session.commit()
    return added


# --- e-mails ------------------------------------------------------------------------


def _subject_verify() -> str:
    return _("Xác minh email của bạn tại Chợ OCOP")


def _subject_checkout_account() -> str:
    return _("Có người vừa đặt hàng bằng email của bạn trên Chợ OCOP")


def _subject_reset() -> str:
    return _("Đặt lại mật khẩu Chợ OCOP")


def _send_templated(user: User, template: str, link: str, subject) -> bool:
    with force_locale(user.locale or "vi"):
        values = {"user": user, "link": link}
        text = render_template(f"email/{template}.txt", **values)
        html = render_template(f"email/{template}.html", **values)
        title = subject()
    try:
        send_email(user.email, title, text, html)
    except Exception:  # noqa: BLE001 - logged; the change that asked for the mail is committed
        log.exception("could not send the %s e-mail to user %s", template, user.id)
        return False
    return True
