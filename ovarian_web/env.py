"""Reading settings from the environment, failing loudly on bad values."""

import os
from urllib.parse import urlparse

import dj_database_url


class SettingError(RuntimeError):
    """An environment variable holds a value the application cannot use."""


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise SettingError(f"{name}={raw!r} is not a boolean; use true/false, 1/0, yes/no or on/off")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingError(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise SettingError(f"{name}={raw!r} must be at least {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_database(name: str, default_sqlite_path: str) -> dict:
    """A Django DATABASES entry from a postgres:// or sqlite:/// URL; SQLite when unset."""
    raw = os.environ.get(name, "")
    if not raw:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": default_sqlite_path}
    scheme = urlparse(raw).scheme
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise SettingError(
            f"{name} must start with postgres:// or sqlite:///, got scheme {scheme or 'none'!r}"
        )
    try:
        config = dj_database_url.parse(raw)
    except ValueError as error:
        raise SettingError(f"{name} is malformed: {error}") from None
    if scheme != "sqlite" and not config.get("NAME"):
        raise SettingError(f"{name} names no database (expected postgres://user@host:port/name)")
    if scheme == "sqlite" and not config.get("NAME"):
        raise SettingError(f"{name} names no file (expected sqlite:///path/to/db.sqlite3)")
    return config


def env_redis(name: str) -> str:
    raw = os.environ.get(name, "")
    if not raw:
        return ""
    parsed = urlparse(raw)
    if parsed.scheme not in {"redis", "rediss", "unix"}:
        raise SettingError(f"{name} must be a redis://, rediss:// or unix:// URL, got {raw!r}")
    if parsed.scheme != "unix" and not parsed.hostname:
        raise SettingError(f"{name} names no host (expected redis://host:port/db)")
    try:
        parsed.port  # noqa: B018  # raises on a non-numeric port
    except ValueError:
        raise SettingError(f"{name} has a malformed port: {raw!r}") from None
    return raw
