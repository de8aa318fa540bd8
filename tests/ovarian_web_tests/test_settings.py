"""Settings come from the environment and refuse bad values with the variable's name."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ovarian_web.env import SettingError, env_bool, env_database, env_redis

ROOT = Path(__file__).resolve().parents[2]


def _start(env_overrides: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"VAR_DIR": str(tmp_path), **env_overrides})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://root@localhost/test"),
        ("DATABASE_URL", "postgres://"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("REDIS_URL", "redis://127.0.0.1:notaport/0"),
        ("DEBUG", "maybe"),
        ("JOB_LEASE_SECONDS", "soon"),
        ("IDENTIFIER_KEY", "short"),
    ],
)
def test_a_bad_value_stops_the_start_and_names_the_variable(tmp_path, variable, value):
    result = _start({variable: value}, tmp_path)
    assert result.returncode != 0
    assert "SettingError" in result.stderr
    assert variable in result.stderr


def test_nothing_set_starts_on_sqlite_with_generated_keys(tmp_path):
    result = _start({}, tmp_path)
    assert result.returncode == 0, result.stderr
    keys = (tmp_path / "local_keys.json").read_text()
    assert "PSEUDONYM_KEY" in keys and "IDENTIFIER_KEY" in keys
    assert oct((tmp_path / "local_keys.json").stat().st_mode & 0o777) == "0o600"


def test_database_url_switches_engines(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    assert env_database("DATABASE_URL", "unused")["ENGINE"] == "django.db.backends.postgresql"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite3")
    config = env_database("DATABASE_URL", "unused")
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == f"{tmp_path}/x.sqlite3"
    monkeypatch.delenv("DATABASE_URL")
    assert env_database("DATABASE_URL", "fallback.sqlite3")["NAME"] == "fallback.sqlite3"


def test_booleans_and_redis_urls(monkeypatch):
    monkeypatch.setenv("FLAG", "Yes")
    assert env_bool("FLAG") is True
    monkeypatch.setenv("FLAG", "off")
    assert env_bool("FLAG", True) is False
    monkeypatch.setenv("REDIS", "redis://127.0.0.1:6379/0")
    assert env_redis("REDIS") == "redis://127.0.0.1:6379/0"
    monkeypatch.setenv("REDIS", "redis://:6379/0")
    with pytest.raises(SettingError, match="REDIS"):
        env_redis("REDIS")


def _deploy_check(env_overrides: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; a deployment does not.
    unset = ("DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update({"VAR_DIR": str(tmp_path), **env_overrides})
    command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_the_documented_production_settings_pass_the_deploy_check(tmp_path):
    production = {
        "DEBUG": "false",
        "HTTPS": "true",
        "ALLOWED_HOSTS": "ovascan.example.org",
        "CSRF_TRUSTED_ORIGINS": "https://ovascan.example.org",
    }
    checked = _deploy_check(production, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no issues" in checked.stdout
    # Without HTTPS the same check warns (cookies not secure, no redirect): it is really checking.
    plain = _deploy_check({**production, "HTTPS": "false"}, tmp_path)
    assert plain.returncode != 0
    assert "security.W012" in plain.stdout + plain.stderr
