"""Encryption at rest for integration secrets (Fernet, keys from FIELD_ENCRYPTION_KEY).

FIELD_ENCRYPTION_KEY holds one Fernet key, or several separated by commas during a key
rotation: the first encrypts, every one of them decrypts (``MultiFernet``), and
``manage.py rotate_integration_keys`` re-encrypts stored tokens under the first.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnreadable(Exception):
    """Stored ciphertext that no configured key opens (a key was dropped too early)."""


def _keys() -> list[str]:
    return [key.strip() for key in settings.FIELD_ENCRYPTION_KEY.split(",") if key.strip()]


def encryption_configured() -> bool:
    return bool(_keys())


def _fernet() -> MultiFernet:
    keys = _keys()
    if not keys:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY is not set; generate one with `python -c "
            '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`'
        )
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be url-safe base64 Fernet keys (32 bytes each)"
        ) from exc


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def decrypt(cipher: str) -> str:
    if not cipher:
        return ""
    try:
        return _fernet().decrypt(cipher.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "a stored integration token cannot be decrypted with FIELD_ENCRYPTION_KEY"
        ) from exc


def reencrypt(cipher: str) -> str:
    """The same secret under the first (newest) key."""
    return _fernet().rotate(cipher.encode()).decode() if cipher else ""
