"""Encryption at rest of stored PeeringDB tokens (DESIGN §5).

Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) under the keys of
``peeringdb.token_keys``: the first key encrypts, every key decrypts, so a new key is put
first, and an old one dropped once every stored token has been rewritten under the new one
(each successful re-check rewrites its row).
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ztix.config import PeeringDBConfig, token_key_list


def generate_key() -> str:
    """A new key for ``peeringdb.token_keys``."""
    return Fernet.generate_key().decode("ascii")


class TokenCipher:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("no token key")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    @classmethod
    def from_config(cls, config: PeeringDBConfig) -> TokenCipher | None:
        """The cipher of the configured keys, or None when none is configured."""
        keys = token_key_list(config.token_keys)
        return cls(keys) if keys else None

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode("ascii")

    def decrypt(self, stored: str) -> str | None:
        """The token, or None when no configured key opens it (a key was dropped)."""
        try:
            return self._fernet.decrypt(stored.encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            return None
