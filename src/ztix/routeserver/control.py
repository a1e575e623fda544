"""BIRD's control socket, spoken directly: what ``birdc -v`` does for one command, without
starting a process for it (issue 17, P3: an apply sends four commands, and starting
``birdc`` cost about 1.6 ms each, a sixth of a one-member apply's time outside BIRD's
own ``configure``).

The protocol (BIRD's ``client/client.c`` and ``doc/reply_codes``): on connect BIRD greets
with ``0001 BIRD <version> ready.``; a command is one line; each reply line starts with a
four-digit code and ``-`` (more follows) or a space (the reply's last line), a line that
starts with a space continues the block above, one that starts with ``+`` is an
asynchronous message. The reply comes back as ``birdc -v`` prints it, so that
:class:`~ztix.routeserver.transport.BirdcReply` reads both alike: continuation lines
indented by five spaces, code 0 lines (``0000``, the end of a listing) left out,
asynchronous lines as ``>>> …``; the exit status is birdc's: 1 when the last line's code
is an error (8xxx run-time, 9xxx parse) or the socket cannot be reached, else 0. (birdc
also marks a line of no known shape with ``???``; BIRD sends none.)
``tests/integration/test_routeserver_apply.py`` holds the two side by side on a real BIRD.
"""

from __future__ import annotations

import socket
import time

from ztix.routeserver.transport import BirdcReply

_READ_SIZE = 1 << 16


def command(path: str, line: str, timeout: float) -> BirdcReply:
    """Send ``line`` to the BIRD listening on ``path`` and wait at most ``timeout`` seconds
    for the whole reply."""
    if "\n" in line or "\r" in line:  # one command per line: never a second one smuggled in
        return BirdcReply(1, f"refused: the command {line!r} holds a line break\n")
    deadline = time.monotonic() + timeout
    data = bytearray()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            return BirdcReply(1, f"Unable to connect to server control socket ({path}): {reason}\n")
        try:
            sock.sendall(line.encode() + b"\n")
            last = _read_reply(sock, data, deadline)
        except TimeoutError:
            return BirdcReply(-1, f"birdc {line}: no answer within {timeout:g} s")
        except OSError as exc:
            text = _as_birdc_prints(bytes(data))
            return BirdcReply(-1, f"{text}lost BIRD's control socket ({path}): {exc}\n")
    return BirdcReply(1 if last >= 8000 else 0, _as_birdc_prints(bytes(data)))


def _read_reply(sock: socket.socket, data: bytearray, deadline: float) -> int:
    """Read into ``data`` BIRD's greeting (its first line) and the reply that follows, until
    that reply's last line (a code and a space) has arrived; that line's code. BIRD writes
    the last line last, so only the end of what has arrived is looked at."""
    while True:
        if data.endswith(b"\n"):
            greeting_end = data.find(b"\n") + 1
            start = data.rfind(b"\n", 0, len(data) - 1) + 1
            code, mark = data[start : start + 4], data[start + 4 : start + 5]
            if start >= greeting_end and code.isdigit() and mark == b" ":
                return int(code)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        sock.settimeout(remaining)
        chunk = sock.recv(_READ_SIZE)
        if not chunk:
            raise ConnectionError("BIRD closed the connection before its reply ended")
        data += chunk


def _as_birdc_prints(raw: bytes) -> str:
    """The reply lines as ``birdc -v`` prints them (no line but the first is a continuation:
    the greeting comes first)."""
    text = raw.decode("utf-8", errors="replace")
    text = text.replace("\n ", "\n     ").replace("\n+", "\n>>> ")
    kept, at = [], 0
    while (found := text.find("\n0000", at)) != -1:  # code 0: the end of a listing
        if text[found + 5 : found + 6] not in (" ", "-"):
            kept.append(text[at : found + 5])
            at = found + 5
            continue
        kept.append(text[at : found + 1])
        end = text.find("\n", found + 1)
        at = len(text) if end == -1 else end + 1
    kept.append(text[at:])
    return "".join(kept)
