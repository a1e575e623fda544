"""Encryption at rest of stored PeeringDB tokens (DESIGN §5).

Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) under the keys of
``peeringdb.token_keys``: the first key encrypts, every key decrypts, so a new key is put
first, and an old one dropped once every stored token has been rewritten under the new one
(each successful re-check rewrites its row).

``cryptography`` is imported when a cipher is first made, not with this module: a process
whose configuration names no keys (``TokenCipher.from_config`` answers None) never loads
it (about 7 MiB in an HTTP worker; issue 17, P6).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ztix.config import PeeringDBConfig, token_key_list

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet


def generate_key() -> str:
    """A new key for ``peeringdb.token_keys``."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode("ascii")


class TokenCipher:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("no token key")
        from cryptography.fernet import Fernet, MultiFernet

        self._fernet: MultiFernet = MultiFernet([Fernet(k) for k in keys])

    @classmethod
    def from_config(cls, config: PeeringDBConfig) -> TokenCipher | None:
        """The cipher of the configured keys, or None when none is configured."""
        keys = token_key_list(config.token_keys)
        return cls(keys) if keys else None

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode("ascii")

    def decrypt(self, stored: str) -> str | None:
        """The token, or None when no configured key opens it (a key was dropped)."""
        from cryptography.fernet import InvalidToken  # loaded by __init__ already

        try:
            return self._fernet.decrypt(stored.encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            return None
