"""Flask extensions, created unbound and initialised in create_app()."""

from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import Babel
from flask_babel import lazy_gettext as _l
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase, registry

from shop.csrf import SameOriginCSRF

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    # Every timestamp is stored in UTC and carries its zone where the database can.
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: DateTime(timezone=True)},
    )


db = SQLAlchemy(model_class=Base)
# The models' base. At run time it is db.Model (Base plus Flask-SQLAlchemy's table naming and
# bind keys); a checker cannot take an attribute for a base class, so it reads Base, which
# carries the same registry, metadata and Mapped[...] typing.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
csrf = SameOriginCSRF()
compress = Compress()  # called by shop.page_cache for pages rendered per visitor
babel = Babel()
login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = _l("Vui lòng đăng nhập để tiếp tục.")
login_manager.login_message_category = "info"
# Limits are declared on the views that need them (sign-in, sign-up, e-mails); no default limit.
limiter = Limiter(key_func=get_remote_address)


def limiter_storage_uri(config) -> str:
    """Where the rate-limit counters live: RATELIMIT_STORAGE_URI when it names a
    store, else the app's Redis when there is one (so every worker shares the
    counts), else process memory. `limits` spells a Redis socket `redis+unix://`."""
    uri = config.get("RATELIMIT_STORAGE_URI") or "memory://"
    redis_url = config.get("REDIS_URL")
    if uri != "memory://" or not redis_url:
        return uri
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://") :]
    return redis_url
