"""Personal data encrypted at rest (people's IBANs), with keys from the environment.

FIELD_ENCRYPTION_KEYS lists Fernet keys (AES in CBC mode with an HMAC-SHA256 signature), comma-separated: the first
encrypts, every one decrypts. A key rotates by putting a new one first: rows written from then on use it, older rows
still read with the old one, which stays listed until every row was written again.

Unset, a key derived from SECRET_KEY is used, so that development and the tests need no set-up; in production
`manage.py check --deploy` refuses it (contrib_budget.checks): changing SECRET_KEY would then make the data
unreadable. Without a configured SECRET_KEY either (each process then has a random one), encrypting is refused
rather than done with a key lost at the next restart.
"""

import base64
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


class UndecryptableValue(ImproperlyConfigured):
    """A stored value none of the configured keys decrypts: a key it was written with is missing."""


def configured_keys() -> list[str]:
    return [key.strip() for key in settings.FIELD_ENCRYPTION_KEYS if key.strip()]


def invalid_keys() -> list[int]:
    """The positions (from 1) of the configured keys that are not Fernet keys."""
    invalid = []
    for position, key in enumerate(configured_keys(), start=1):
        try:
            Fernet(key)
        except ValueError:
            invalid.append(position)
    return invalid


def derived_key(secret: str) -> str:
    """A Fernet key derived from `secret` (SECRET_KEY), for this use only."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"contrib_budget field encryption")
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode())).decode()


@lru_cache(maxsize=4)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe base64-encoded bytes)."
        ) from None


def _fernet() -> MultiFernet:
    keys = configured_keys()
    if not keys:
        if not (settings.DEBUG or getattr(settings, "SECRET_KEY_CONFIGURED", True)):
            raise ImproperlyConfigured("Set FIELD_ENCRYPTION_KEYS (or at least SECRET_KEY) to store personal data.")
        keys = [derived_key(settings.SECRET_KEY)]
    return _multi_fernet(tuple(keys))


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise UndecryptableValue(
            "A stored value cannot be decrypted with FIELD_ENCRYPTION_KEYS: the key it was written with is missing."
        ) from None


class EncryptedTextField(models.TextField):
    """Text stored encrypted (a Fernet token) and read as plain text. An empty value stays empty, so that "none
    given" remains visible to constraints. Its column can only be compared with "": each encryption of one text
    gives another token."""

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value)
