"""Cutting secrets out of text that leaves the process: error messages that reach logs, the
audit trail and API answers, and readiness reasons (tests/test_no_secrets.py holds it)."""

from __future__ import annotations

import re
from collections.abc import Iterable

MARK = "***"

# ``scheme://user:password@``: the password of any URL a message may quote.
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^\s:/@]*):[^\s@]*@", re.IGNORECASE)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with URL passwords and each of ``secrets`` (longest first) replaced."""
    text = _URL_PASSWORD.sub(rf"\g<head>:{MARK}@", text)
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MARK)
    return text
