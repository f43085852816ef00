"""Extension objects, created once and bound to an app in create_app()."""

from typing import TYPE_CHECKING

from flask_caching import Cache
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from app import rate_limits  # noqa: F401 - registers the in-process limits' storage
from app.sessions import session_identifier

# Named constraints give stable names across SQLite and PostgreSQL, so migrations can drop them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
# db.Model is a class Flask-SQLAlchemy builds from Base at runtime, so checkers cannot see it;
# they are shown Base, whose metadata and typed mapping it shares.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
# Flask-Login has no public setting for this; its default believes any X-Forwarded-For.
login_manager._session_identifier_generator = session_identifier
# Storage comes from RATELIMIT_STORAGE_URI (Redis when REDIS_URL is set, else in-process).
limiter = Limiter(key_func=get_remote_address, default_limits=[])
# Redis when REDIS_URL is set (shared by every process), in-process otherwise; see config.py.
cache = Cache()
compress = Compress()
