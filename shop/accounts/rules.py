"""Account rules with no database: passwords and e-mail addresses (redirects: shop.urls).

Forms use them to mark the field at fault; services apply them again, since
the CLI and later callers reach the services without a form.
"""

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128  # argon2 takes any length; this only bounds the work per request


class InvalidEmail(ValueError):
    pass


def password_problem(password: str) -> str | None:
    """Why `password` is refused, or None when it is acceptable."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return _l("Mật khẩu cần ít nhất %(n)d ký tự.", n=PASSWORD_MIN_LENGTH)
    if len(password) > PASSWORD_MAX_LENGTH:
        return _l("Mật khẩu dài tối đa %(n)d ký tự.", n=PASSWORD_MAX_LENGTH)
    if password.isdigit():
        return _l("Mật khẩu không được chỉ gồm chữ số.")
    return None


def normalise_email(raw: str) -> str:
    """The address as stored: syntax checked (no DNS look-up), lower-cased,
    an internationalised domain in its ASCII form. InvalidEmail otherwise."""
    try:
        checked = validate_email((raw or "").strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as err:
        raise InvalidEmail(str(err)) from err
    return (checked.ascii_email or checked.normalized).lower()
