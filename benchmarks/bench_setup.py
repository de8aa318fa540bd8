"""What the benchmarks share: a fresh database, and Django set up in a child process."""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse, urlunparse


def fresh_postgres(url: str, name: str) -> str:
    """Drop and create database `name` on the server of `url`; its URL."""
    import psycopg2

    connection = psycopg2.connect(url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        cursor.execute(f"CREATE DATABASE {name}")
    connection.close()
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def django_setup(database_url: str, var_dir: Path, *, migrate: bool) -> None:
    """Settings for a throwaway database and folder, without Redis; migrate if asked."""
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "VAR_DIR": str(var_dir),
            "MEDIA_ROOT": str(var_dir / "media"),
            "DJANGO_SETTINGS_MODULE": "ovarian_web.settings",
        }
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def child_json(script: str, *args) -> dict:
    """Run `script` with these arguments in a fresh process; its last line of output, as JSON.

    Each measured step gets its own process, so it gets its own Django settings."""
    output = subprocess.run(
        [sys.executable, script, *map(str, args)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(script).resolve().parent.parent,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])
