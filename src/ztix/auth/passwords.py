"""Local-account passwords: argon2id hashes."""

from __future__ import annotations

import base64
import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


@functools.cache
def dummy_hash() -> str:
    """Verified against when the username is unknown, so both paths cost the same: an
    argon2id hash string with this hasher's parameters and a random salt and digest. No
    password is hashed to make it (hashing took argon2's 64 MiB, at import, in every process
    that imports this module: the CLI, every HTTP and Celery worker); verifying against it
    costs what verifying against a real hash does, and never matches."""

    def b64(n: int) -> str:
        return base64.b64encode(secrets.token_bytes(n)).decode().rstrip("=")

    h = _hasher
    return (
        f"$argon2id$v=19$m={h.memory_cost},t={h.time_cost},p={h.parallelism}"
        f"${b64(h.salt_len)}${b64(h.hash_len)}"
    )


MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or dummy_hash(), password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(18)
