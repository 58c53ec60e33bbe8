"""Account pages: sign-up, verification, sign-in and out, password reset,
profile and address book; the ward list for address forms; the 429 page."""

from typing import Protocol

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user, user_logged_in
from wtforms import SelectChoice  # type: ignore[attr-defined]  # SelectChoice is new in WTForms 3.3; types-wtforms 3.2 lacks it

from shop.accounts import queries, services, throttle
from shop.accounts.forms import (
    ActionForm,
    AddressForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
)
from shop.accounts.models import User
from shop.accounts.phone import format_phone
from shop.accounts.rules import InvalidEmail, normalise_email
from shop.accounts.services import AccountError
from shop.errors import json_error, wants_json
from shop.extensions import limiter, login_manager
from shop.places import queries as places
from shop.security import cookie_secure
from shop.urls import local_path as safe_next

bp = Blueprint("accounts", __name__)

# The session cookie carries the token of a server-side sign-in session
# (accounts.LoginSession): signing out, a new password or "sign out everywhere"
# delete the row, and every copy of the cookie stops opening the account.
SESSION_TOKEN_KEY = "_sid"
_FLASK_LOGIN_KEYS = ("_user_id", "_fresh", "_id", "_remember", "_remember_seconds")


def _forget_sign_in() -> None:
    for key in (SESSION_TOKEN_KEY, *_FLASK_LOGIN_KEYS):
        session.pop(key, None)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    token = session.get(SESSION_TOKEN_KEY)
    user = queries.session_user(int(user_id), token) if user_id.isdigit() and isinstance(token, str) else None
    if user is None or not user.active:  # ended, expired, or a locked account: signed out here
        # Flask-Login's own remember cookie also ends here: it names a user, not a session.
        _forget_sign_in()
        return None
    return user


@user_logged_in.connect
def _open_session(sender, user: User, **extra) -> None:
    # Whoever calls login_user (sign-in, sign-up, reset, checkout), a server-side session is opened.
    session[SESSION_TOKEN_KEY] = services.start_session(
        user.id, int(current_app.permanent_session_lifetime.total_seconds())
    )


def sign_in(user: User, remember: bool) -> None:
    """Start a session (emits Flask-Login's `user_logged_in`, which the cart listens to).

    "Remember me" makes the session cookie last PERMANENT_SESSION_LIFETIME
    instead of using Flask-Login's separate remember cookie: the page cache
    serves anonymous pages to requests without a session cookie, so a signed-in
    visitor must always carry one."""
    session.permanent = remember
    login_user(user)


class FieldRefusal(Protocol):
    """A service's refusal that may name the form field it is about (AccountError, PortalError)."""

    @property
    def field(self) -> str | None: ...

    @property
    def message(self) -> str: ...


def form_error(form, err: FieldRefusal) -> None:
    """Show a service's refusal next to the field it is about, or above the form."""
    field = getattr(form, err.field, None) if err.field else None
    if field is not None:
        field.errors = [*field.errors, err.message]
    else:
        form.form_errors.append(err.message)


def next_target(form=None) -> str | None:
    value = form.next.data if form is not None and form.next.data else request.args.get("next")
    return safe_next(value)


bp.add_app_template_filter(format_phone, "phone")


@bp.after_request
def no_store(response):
    # Account pages carry personal data and CSRF tokens: never kept by a shared cache.
    if request.endpoint != "accounts.wards":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_errorhandler(429)
def too_many_requests(err):
    message = _("Bạn đã thử quá nhiều lần. Vui lòng đợi vài phút rồi thử lại.")
    if wants_json():
        return json_error(429, "too_many_requests", message)
    return render_template("accounts/too_many_requests.html", message=message), 429


# --- rate-limit keys -------------------------------------------------------------


def submitted_email() -> str:
    """Failed sign-ins are counted per account tried, whatever address they come from."""
    typed = (request.form.get("email") or "")[:254]
    try:
        email = normalise_email(typed)  # the spelling the account is stored under
    except InvalidEmail:
        email = typed.strip().lower()
    return f"email:{email}" if email else get_remote_address()


def signed_in_user() -> str:
    return f"user:{current_user.get_id()}"


def _login_limit_per_ip() -> str:
    return current_app.config["LOGIN_LIMIT_PER_IP"]


def password_wait(email_key: str):
    """A 429 page when this address must still wait before trying this account's
    password again (see shop.accounts.throttle), else None."""
    wait = throttle.retry_after(email_key, get_remote_address())
    if not wait:
        return None
    message = _("Bạn đã thử quá nhiều lần. Vui lòng đợi %(n)d giây rồi thử lại.", n=wait)
    page = render_template("accounts/too_many_requests.html", message=message)
    return page, 429, {"Retry-After": str(wait)}


def _email_limit() -> str:
    return current_app.config["ACCOUNT_EMAIL_LIMIT"]


# --- sign-up, verification -----------------------------------------------------------


@bp.route("/tai-khoan/dang-ky", methods=["GET", "POST"])
@limiter.limit(_email_limit, methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(next_target() or url_for(".profile"))
    form = RegisterForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = services.register(
                form.email.data or "",
                form.password.data or "",
                form.name.data or "",
                form.phone.data or "",
                str(get_locale()),
            )
        except AccountError as err:
            form_error(form, err)
        else:
            services.send_verification_email(user.id)
            sign_in(user, remember=False)
            flash(
                _(
                    "Chào mừng %(name)s! Chúng tôi đã gửi email xác minh tới %(email)s. "
                    "Bạn vẫn mua sắm được ngay; hãy mở thư và bấm vào liên kết khi tiện.",
                    name=user.name,
                    email=user.email,
                ),
                "success",
            )
            return redirect(next_target(form) or url_for("catalog.home"))
    return render_template("accounts/register.html", form=form)


@bp.route("/tai-khoan/xac-minh/<token>", methods=["GET", "POST"])
def verify_email(token: str):
    # The e-mail link opens a page with a button: the change itself is a POST,
    # so mail scanners that open links do not use it up.
    form = ActionForm()
    try:
        if form.validate_on_submit():
            services.verify_email(token)
        else:
            user = services.verification_target(token)
            return render_template("accounts/verify.html", form=form, email=user.email)
    except AccountError as err:
        return render_template("accounts/link_problem.html", message=err.message, kind="verify"), 400
    flash(_("Cảm ơn bạn! Email đã được xác minh."), "success")
    return redirect(url_for(".profile") if current_user.is_authenticated else url_for(".login"))


@bp.post("/tai-khoan/xac-minh/gui-lai")
@login_required
@limiter.limit(_email_limit, key_func=signed_in_user)
def resend_verification():
    if services.resend_verification(current_user.id):
        flash(_("Đã gửi lại email xác minh tới %(email)s.", email=current_user.email), "success")
    else:
        flash(_("Email của bạn đã được xác minh."), "info")
    return redirect(safe_next(request.form.get("next")) or url_for(".profile"))


# --- sign-in and out, password reset -------------------------------------------------


@bp.route("/tai-khoan/dang-nhap", methods=["GET", "POST"])
@limiter.limit(_login_limit_per_ip, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(next_target() or url_for("catalog.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        email_key = submitted_email()
        waiting = password_wait(email_key)
        if waiting:
            return waiting
        try:
            user = services.authenticate(form.email.data or "", form.password.data or "")
        except AccountError as err:
            throttle.record_failure(email_key, get_remote_address())
            form.form_errors.append(err.message)
        else:
            throttle.record_success(email_key, get_remote_address())
            sign_in(user, remember=form.remember.data)
            flash(_("Xin chào %(name)s!", name=user.name), "success")
            # Producer staff come to work: their portal, where new orders are.
            landing = url_for("portal.dashboard") if user.memberships else url_for("catalog.home")
            return redirect(next_target(form) or landing)
    return render_template("accounts/login.html", form=form)


@bp.post("/tai-khoan/dang-xuat")
def logout():
    services.end_session(session.get(SESSION_TOKEN_KEY))
    logout_user()
    _forget_sign_in()
    session.permanent = False
    flash(_("Bạn đã đăng xuất."), "info")
    return redirect(url_for("catalog.home"))


@bp.post("/tai-khoan/dang-xuat-moi-noi")
@login_required
def logout_everywhere():
    """End every session of the account, this browser's included (a lost phone, a shared computer)."""
    services.end_all_sessions(current_user.id)
    logout_user()
    _forget_sign_in()
    session.permanent = False
    flash(_("Đã đăng xuất khỏi mọi thiết bị. Hãy đăng nhập lại trên thiết bị bạn dùng."), "info")
    return redirect(url_for(".login"))


@bp.route("/tai-khoan/quen-mat-khau", methods=["GET", "POST"])
@limiter.limit(_email_limit, methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        email = form.email.data or ""
        services.request_password_reset(email)
        return render_template("accounts/reset_sent.html", email=email.strip())
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/tai-khoan/dat-lai-mat-khau/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    form = ResetPasswordForm()
    try:
        services.reset_target(token)
        if form.validate_on_submit():
            user = services.reset_password(token, form.password.data or "")
            sign_in(user, remember=False)
            flash(_("Đã đặt mật khẩu mới. Bạn đã được đăng nhập."), "success")
            return redirect(url_for(".profile"))
    except AccountError as err:
        if err.field and hasattr(form, err.field):
            form_error(form, err)
        else:
            return render_template("accounts/link_problem.html", message=err.message, kind="reset"), 400
    return render_template("accounts/reset_password.html", form=form)


# --- profile ---------------------------------------------------------------------------


def _profile_page(profile_form=None, password_form=None, status: int = 200):
    user = current_user
    profile_form = profile_form or ProfileForm(
        formdata=None, name=user.name, phone=format_phone(user.phone), locale=user.locale or "vi"
    )
    password_form = password_form or ChangePasswordForm(formdata=None, prefix="pw")
    return render_template(
        "accounts/profile.html", profile_form=profile_form, password_form=password_form, user=user
    ), status


@bp.get("/tai-khoan")
@login_required
def profile():
    return _profile_page()


@bp.post("/tai-khoan")
@login_required
def update_profile():
    form = ProfileForm()
    if form.validate_on_submit():
        try:
            user = services.update_profile(
                current_user.id, form.name.data or "", form.phone.data or "", form.locale.data
            )
        except AccountError as err:
            form_error(form, err)
        else:
            flash(_("Đã lưu thông tin tài khoản."), "success")
            response = redirect(url_for(".profile"))
            response.set_cookie(
                "lang", user.locale, max_age=365 * 86400, samesite="Lax", httponly=True, secure=cookie_secure()
            )
            return response
    return _profile_page(profile_form=form)


@bp.post("/tai-khoan/mat-khau")
@login_required
def change_password():
    form = ChangePasswordForm(prefix="pw")
    if form.validate_on_submit():
        try:
            services.change_password(
                current_user.id,
                form.current_password.data or "",
                form.new_password.data or "",
                keep_session=session.get(SESSION_TOKEN_KEY),
            )
        except AccountError as err:
            form_error(form, err)
        else:
            flash(_("Đã đổi mật khẩu. Các thiết bị khác đã được đăng xuất."), "success")
            return redirect(url_for(".profile"))
    return _profile_page(password_form=form)


# --- address book ---------------------------------------------------------------------


@bp.get("/tai-khoan/dia-chi")
@login_required
def addresses():
    rows = queries.list_addresses(current_user.id)
    return render_template("accounts/addresses.html", addresses=rows, form=ActionForm())


def _fill_places(form: AddressForm) -> None:
    """Choices of the two selects: every province, and the wards of the chosen one
    (so the form also works without JavaScript: pick a province, submit, pick a ward)."""
    form.province_id.choices = [SelectChoice("", _("— Chọn tỉnh/thành phố —"))] + [
        SelectChoice(p.id, p.name, {"data-slug": p.slug}) for p in places.provinces()
    ]
    wards = places.wards_of(form.province_id.data) if form.province_id.data else []
    placeholder = _("— Chọn phường/xã —") if wards else _("— Chọn tỉnh/thành phố trước —")
    form.ward_id.choices = [SelectChoice("", placeholder)] + [SelectChoice(i, name) for i, name in wards]


def _address_values(form: AddressForm) -> dict:
    return {
        "recipient": form.recipient.data,
        "phone": form.phone.data,
        "province_id": form.province_id.data,
        "ward_id": form.ward_id.data,
        "street": form.street.data,
        "make_default": form.is_default.data,
    }


@bp.route("/tai-khoan/dia-chi/them", methods=["GET", "POST"])
@login_required
def add_address():
    form = AddressForm()
    if request.method == "GET":
        form.recipient.data, form.phone.data = current_user.name, format_phone(current_user.phone)
    _fill_places(form)
    if form.validate_on_submit():
        try:
            services.add_address(current_user.id, **_address_values(form))
        except AccountError as err:
            form_error(form, err)
        else:
            flash(_("Đã lưu địa chỉ."), "success")
            return redirect(safe_next(request.args.get("next")) or url_for(".addresses"))
    return render_template("accounts/address_form.html", form=form, address=None)


@bp.route("/tai-khoan/dia-chi/<int:address_id>/sua", methods=["GET", "POST"])
@login_required
def edit_address(address_id: int):
    address = queries.get_address(current_user.id, address_id)
    if address is None:
        abort(404)
    form = AddressForm(obj=address)
    if request.method == "GET":
        form.phone.data = format_phone(address.phone)
    _fill_places(form)
    if form.validate_on_submit():
        try:
            services.update_address(current_user.id, address_id, **_address_values(form))
        except AccountError as err:
            form_error(form, err)
        else:
            flash(_("Đã lưu địa chỉ."), "success")
            return redirect(url_for(".addresses"))
    return render_template("accounts/address_form.html", form=form, address=address)


@bp.post("/tai-khoan/dia-chi/<int:address_id>/xoa")
@login_required
def delete_address(address_id: int):
    services.delete_address(current_user.id, address_id)
    flash(_("Đã xóa địa chỉ."), "info")
    return redirect(url_for(".addresses"))


@bp.post("/tai-khoan/dia-chi/<int:address_id>/mac-dinh")
@login_required
def set_default_address(address_id: int):
    services.set_default_address(current_user.id, address_id)
    flash(_("Đã đặt làm địa chỉ mặc định."), "success")
    return redirect(url_for(".addresses"))


@bp.get("/dia-gioi/<province_slug>/phuong-xa")
def wards(province_slug: str):
    """The wards of a province as [{id, name}], for the address form's script."""
    province = places.province_by_slug(province_slug)
    if province is None:
        return json_error(404, "not_found", _("Không tìm thấy tỉnh/thành phố."))
    response = jsonify([{"id": ward_id, "name": name} for ward_id, name in places.wards_of(province.id)])
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response
