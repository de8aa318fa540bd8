import pytest

from ovarian_web.roles import Role

from .factories import UserFactory


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # A fast hasher: the suite creates hundreds of users; production keeps PBKDF2.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return settings.MEDIA_ROOT


@pytest.fixture
def make_user(db):
    def make(role: Role | None, **kwargs):
        return UserFactory(role=role, **kwargs)

    return make


@pytest.fixture
def client_for(client, make_user):
    """A test client signed in with the given role (None: a user without any role)."""

    def login(role: Role | None):
        client.force_login(make_user(role))
        return client

    return login


@pytest.fixture(scope="session", autouse=True)
def close_thread_connections(django_db_setup, django_db_blocker):
    """Worker and server threads keep database sessions; end them so the test DB can be dropped."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
