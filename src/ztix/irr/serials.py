"""The IRR server's serial per source (IRRd's ``!j`` query), to tell "nothing changed".

IRRd answers ``!jRIPE,RADB`` with one line per source, ``SOURCE:Y:0-123456[:export]``
(``-`` for no serial, ``X`` for an unknown source), in its ``A<length>`` framing. When
every configured source has a serial, their list is a fingerprint of the IRR's content: a
member whose AS-SET and fingerprint are those of its stored data needs no new expansion.
Any doubt (no answer, an unknown source, a source without serial) gives ``None``: every
member is expanded.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

from ztix.domain.irr import check_source

MAX_ANSWER = 65536


def _host_port(server: str) -> tuple[str, int]:
    if server.startswith("["):
        host, _, rest = server[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else 43
    host, _, port = server.partition(":")
    return host, int(port) if port else 43


def source_serials(server: str, sources: Sequence[str], timeout: float) -> str | None:
    """``"RADB:0-12,RIPE:0-34"`` for ``sources`` on ``server``, or None when unknown."""
    if not sources:
        return None
    names = sorted({check_source(s) for s in sources})
    try:
        with socket.create_connection(_host_port(server), timeout=timeout) as conn:
            conn.sendall(f"!j{','.join(names)}\n".encode())
            data = b""
            while len(data) < MAX_ANSWER:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
                if data.endswith((b"C\n", b"D\n")) or data.startswith(b"F"):
                    break
    except (OSError, ValueError):
        return None
    lines = data.decode("ascii", "replace").splitlines()
    if not lines or not lines[0].startswith("A") or lines[-1] != "C":
        return None
    serials: dict[str, str] = {}
    for line in lines[1:-1]:
        parts = line.split(":")
        if len(parts) < 3 or parts[1] not in ("Y", "N") or not parts[2].startswith("0-"):
            return None
        serials[parts[0].upper()] = parts[2][2:]
    if sorted(serials) != names:
        return None
    return ",".join(f"{name}:{serials[name]}" for name in names)
