"""The dummy hash an unknown username is verified against (issue 17, P6): made without
hashing anything (no 64 MiB argon2 run at import in every process), with the parameters of
real hashes so both paths cost the same, and matching no password."""

from __future__ import annotations

import subprocess
import sys

from argon2 import extract_parameters

from ztix.auth import passwords


def test_the_dummy_hash_has_the_parameters_of_a_real_hash_and_matches_nothing() -> None:
    real = extract_parameters(passwords.hash_password("correct horse battery"))
    dummy = extract_parameters(passwords.dummy_hash())
    assert dummy == real
    assert passwords.dummy_hash() == passwords.dummy_hash()  # made once per process
    assert passwords.verify_password(None, "correct horse battery") is False
    assert passwords.verify_password("", "") is False


def test_importing_the_module_hashes_nothing() -> None:
    """argon2's hash function is not called at import: a process that never checks a
    password never pays argon2's memory."""
    probe = (
        "import argon2\n"
        "calls = []\n"
        "original = argon2.PasswordHasher.hash\n"
        "def counted(self, *a, **k):\n"
        "    calls.append(1)\n"
        "    return original(self, *a, **k)\n"
        "argon2.PasswordHasher.hash = counted\n"
        "import ztix.auth.passwords\n"
        "print(len(calls))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "0"
