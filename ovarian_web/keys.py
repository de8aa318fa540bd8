"""Secrets for a local install: generated once into var/local_keys.json when not set.

Production sets SECRET_KEY, PSEUDONYM_KEY and IDENTIFIER_KEY in the environment; a
fresh checkout still runs, with keys of its own rather than keys written in the code.
"""

import base64
import json
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

from ovarian_web.env import SettingError

KEY_NAMES = ("SECRET_KEY", "PSEUDONYM_KEY", "IDENTIFIER_KEY")


def _new_key(name: str) -> str:
    if name == "IDENTIFIER_KEY":
        return Fernet.generate_key().decode()
    return secrets.token_urlsafe(48)


def local_keys(path: Path) -> dict[str, str]:
    """Keys from the environment, falling back to (and creating) the local key file."""
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text())
    missing = [name for name in KEY_NAMES if name not in stored and not os.environ.get(name)]
    if missing:
        for name in missing:
            stored[name] = _new_key(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stored, indent=2))
        tmp.chmod(0o600)
        tmp.replace(path)
    keys = {name: os.environ.get(name) or stored[name] for name in KEY_NAMES}
    validate_identifier_key(keys["IDENTIFIER_KEY"])
    if len(keys["PSEUDONYM_KEY"]) < 16:
        raise SettingError("PSEUDONYM_KEY must be at least 16 characters")
    return keys


def validate_identifier_key(value: str) -> None:
    try:
        raw = base64.urlsafe_b64decode(value.encode())
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise SettingError(
            "IDENTIFIER_KEY must be a Fernet key (32 bytes, url-safe base64); make one with: "
            "python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        )
