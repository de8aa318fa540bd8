"""Keyed pseudonyms and encrypted identifiers.

A hospital patient ID becomes HMAC-SHA256(PSEUDONYM_KEY, id): the same patient from two
imports is one patient, and a lookup by ID recomputes the HMAC without storing it.
Identifiers kept for talking back to the PACS are encrypted with IDENTIFIER_KEY (Fernet).
"""

import hashlib
import hmac
import json

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class IdentifierError(ValueError):
    """An identifier is missing, or an encrypted one cannot be read with this key."""


def _keyed_hash(kind: str, value: str) -> bytes:
    normalized = value.strip()
    if not normalized:
        raise IdentifierError(f"empty {kind}")
    message = f"{kind}:{normalized}".encode()
    return hmac.new(settings.PSEUDONYM_KEY.encode(), message, hashlib.sha256).digest()


def patient_pseudonym(hospital_id: str) -> str:
    return _keyed_hash("patient", hospital_id.upper()).hex()


def accession_key(accession_number: str) -> str:
    return _keyed_hash("accession", accession_number).hex()


def pseudonymous_uid(uid: str) -> str:
    """A stable replacement DICOM UID (2.25 form, under 64 characters) for an original UID."""
    return "2.25." + str(int.from_bytes(_keyed_hash("uid", uid)[:16], "big"))


def encrypt_identifiers(values: dict[str, str]) -> str:
    payload = json.dumps(values, sort_keys=True).encode()
    return Fernet(settings.IDENTIFIER_KEY.encode()).encrypt(payload).decode()


def decrypt_identifiers(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        payload = Fernet(settings.IDENTIFIER_KEY.encode()).decrypt(token.encode())
    except InvalidToken:
        raise IdentifierError("identifiers were encrypted with another IDENTIFIER_KEY") from None
    return json.loads(payload)
