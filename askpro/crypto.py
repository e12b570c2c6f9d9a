"""Encryption at rest for stored credentials (API keys, webhook secrets, tokens).

MultiFernet over ``settings.FERNET_KEYS``: the first key encrypts, every key decrypts, so keys
rotate by prepending a new one and running ``rotate()`` over stored values.
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.FERNET_KEYS])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("stored secret cannot be decrypted with the configured keys") from exc


def rotate(token: str) -> str:
    return _fernet().rotate(token.encode()).decode()


class EncryptedTextField(models.TextField):
    """A text field stored encrypted; reads give the plaintext. Not searchable, by design."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if value in (None, ""):
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        if value in (None, ""):
            return value
        return encrypt(str(value))
