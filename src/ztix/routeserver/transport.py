"""How ZT-IX reaches a route server: its files under ``config_dir`` and its ``birdc``.

One small protocol, :class:`RouteServerTransport`, with two adapters: ``local.LocalTransport``
(this machine) and ``ssh.SshTransport`` (SFTP and exec over one asyncssh connection, the host
key pinned to the configured known_hosts line); ``connect.transport_for`` picks one from a
server's config. Both lay files out the same way (:class:`Layout`)::

    <config_dir>                   what BIRD includes (ztix.conf, peers/*.conf), and
                                   .ztix-manifest.json: each file's hash (manifest.py)
    <config_dir>.staging-<token>/  a new set being written
    <config_dir>.previous/         the set replaced by the last swap, kept for restore
    <config_dir>.failed/           the last set that was swapped out again by a restore
    <config_dir>.applied           hash of the last set BIRD confirmed (see apply.py)

A swap is two renames in the parent directory (``config_dir`` → ``.previous``, staging →
``config_dir``), so BIRD never reads a half-written set. Only changed files are uploaded:
the unchanged ones are hard links to the running set's (files are replaced, never written
in place, so ``.previous`` keeps its content for a restore). The callers are sync worker
threads: every method here is synchronous; the SSH adapter runs asyncssh on a private
event loop thread.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import PurePosixPath
from typing import ClassVar, Literal, Protocol

from ztix.routeserver.manifest import FileStat, Manifest

Stage = Literal[
    "sanity",  # the new file set is unusable (empty, no ztix.conf, bad path)
    "connect",  # TCP, SSH handshake or authentication failed; a lost connection
    "host_key",  # the server's host key is not the pinned one: refused
    "read",  # reading the deployed files failed
    "upload",  # writing the staging directory failed
    "swap",  # renaming staging into place failed (the previous set is back in place)
    "check",  # (no longer run: apply's configure parses once; kept for stored results)
    "configure",  # birdc configure ... timeout N was not accepted (a parse error: 8002)
    "verify",  # after configure: status does not answer, or a protocol is missing
    "confirm",  # birdc configure confirm failed (BIRD's timer may already have undone)
    "undo",  # birdc configure undo failed during a rollback
    "restore",  # putting the previous files back failed during a rollback
    "status",  # reading session state failed
]

MAIN_FILE = "ztix.conf"
_NAME_PART = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
_RELATIVE_PATH = re.compile(rf"^{_NAME_PART}(/{_NAME_PART})*$")
_EXCERPT_CHARS = 2000


def excerpt(text: str, limit: int = _EXCERPT_CHARS) -> str:
    """The head and tail of a long output, enough to see BIRD's message."""
    text = text.strip()
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[…]\n{text[-half:]}"


class RouteServerError(Exception):
    """A step against one route server failed. ``stage`` says which step (see :data:`Stage`);
    ``output`` holds what the server or birdc said, ``exit_status`` birdc's exit status."""

    def __init__(
        self,
        stage: Stage,
        message: str,
        *,
        host: str = "",
        exit_status: int | None = None,
        output: str = "",
    ) -> None:
        super().__init__(message)
        self.stage: Stage = stage
        self.message = message
        self.host = host
        self.exit_status = exit_status
        self.output = output

    @property
    def output_excerpt(self) -> str:
        return excerpt(self.output)

    def __str__(self) -> str:
        where = f"{self.host}: " if self.host else ""
        return f"{where}{self.stage}: {self.message}"


# --- birdc replies ----------------------------------------------------------------------

_REPLY_LINE = re.compile(r"^(\d{4})([ -])(.*)$")
# Over "\n" + the output: the code of every line that has one, and a line birdc printed
# itself (neither a code nor a continuation). A literal "\n" first keeps the search in C.
_LINE_CODE = re.compile(r"\n(\d{4})[ -]")
_LINE_WITHOUT_CODE = re.compile(r"\n(?! |\d{4}[ -])[^\n]*\S")


@dataclass(frozen=True)
class BirdcReply:
    """What ``birdc -v`` printed. With ``-v`` every reply line starts with BIRD's 4-digit
    code (doc/reply_codes: 0xxx done, 1xxx table entry, 2xxx heading, 8xxx run-time error,
    9xxx parse error); continuation lines start with spaces and belong to the code above."""

    exit_status: int
    output: str

    @cached_property
    def lines(self) -> list[tuple[int, str]]:
        """(code, text) for every line; continuation lines carry their block's code.
        Lines birdc prints itself (no code, e.g. "Unable to connect") get code -1."""
        parsed: list[tuple[int, str]] = []
        code = -1
        for raw in self.output.splitlines():
            # A continuation line first (most of a long listing): it never has a code.
            if raw[:1] == " " and code != -1:
                parsed.append((code, raw[5:] if raw[:5].isspace() else raw.strip()))
                continue
            match = _REPLY_LINE.match(raw)
            if match:
                code = int(match.group(1))
                parsed.append((code, match.group(3)))
            elif raw.strip():
                code = -1
                parsed.append((code, raw.strip()))
        return parsed

    @cached_property
    def codes(self) -> set[int]:
        """Every code :attr:`lines` carries, read without splitting a long listing into
        lines (a verify reads 4,000 protocols' listing: issue 17, P3)."""
        text = "\n" + self.output
        found = {int(code) for code in _LINE_CODE.findall(text)}
        if _LINE_WITHOUT_CODE.search(text) or self.output[:1] == " ":
            found.add(-1)
        return found

    @property
    def error(self) -> bool:
        """birdc failed, or BIRD answered with a run-time or parse error."""
        return self.exit_status != 0 or any(code >= 8000 for code in self.codes)

    @staticmethod
    def command(birdc: str, socket: str, args: Iterable[str]) -> list[str]:
        """The argv that gets such a reply."""
        return [birdc, "-v", "-s", socket, *args]

    def text(self, code: int) -> list[str]:
        return [text for c, text in self.lines if c == code]

    @property
    def message(self) -> str:
        """The reply without birdc's welcome line, for people."""
        kept = [f"{c:04d} {t}" if c >= 0 else t for c, t in self.lines if c != 1]
        return "\n".join(kept)


# --- the protocol -----------------------------------------------------------------------


@dataclass(frozen=True)
class Deployment:
    """A swap that happened: what :meth:`RouteServerTransport.restore` undoes."""

    token: str
    had_previous: bool  # False: config_dir did not exist before the swap


class RouteServerTransport(Protocol):
    """Files and birdc on one route server. Methods raise :class:`RouteServerError`."""

    @property
    def host(self) -> str:
        """Where the server is, for reports (the SSH host, or "localhost")."""
        ...

    def read_deployed(self) -> dict[str, str]:
        """Every regular file under config_dir but the manifest, by path relative to it
        (posix, "/")."""
        ...

    def list_deployed(self) -> dict[str, FileStat]:
        """Size and time of every regular file under config_dir but the manifest."""
        ...

    def read_manifest(self) -> Manifest | None:
        """The deployed set's manifest (``manifest.MANIFEST_FILE``), or None when there is
        none or it is unreadable."""
        ...

    def read_applied_hash(self) -> str | None:
        """The hash recorded by the last confirmed apply, or None."""
        ...

    def record_applied_hash(self, value: str) -> None: ...

    def deploy(self, files: Mapping[str, str], reuse: Collection[str] = ()) -> Deployment:
        """Write ``files`` and their manifest to a staging directory, then swap it in as
        config_dir. The paths in ``reuse`` are known to be deployed with the same content:
        they are hard-linked from config_dir instead of uploaded (written when linking
        fails). On a failure nothing is swapped (stage upload) or the previous set is back
        (stage swap)."""
        ...

    def restore(self, deployment: Deployment) -> None:
        """Put back what ``deployment`` replaced; the rejected set goes to ``.failed``."""
        ...

    def birdc(self, *args: str) -> BirdcReply:
        """Run ``birdc -v -s <socket> <args>``. A command that cannot run or times out is a
        reply with a non-zero exit status; only connecting raises."""
        ...

    def close(self) -> None: ...


def validate_file_set(files: Mapping[str, str]) -> None:
    """The sanity checks of a new set: non-empty, has ztix.conf, only plain relative paths."""
    if not files:
        raise RouteServerError("sanity", "refusing to deploy an empty file set")
    if MAIN_FILE not in files:
        raise RouteServerError("sanity", f"the file set has no {MAIN_FILE}")
    for path in files:
        if not _RELATIVE_PATH.match(path):
            raise RouteServerError("sanity", f"refusing the file path {path!r}")


@dataclass(frozen=True)
class Layout:
    """Where a file set lives around ``config_dir`` (see the module's docstring)."""

    config_dir: PurePosixPath

    FILE_MODE: ClassVar[int] = 0o640
    DIR_MODE: ClassVar[int] = 0o750
    STALE_STAGING_SECONDS: ClassVar[int] = 3600

    def __post_init__(self) -> None:
        if not self.config_dir.is_absolute() or self.config_dir.name in ("", ".", ".."):
            raise ValueError(f"config_dir must be an absolute directory path: {self.config_dir}")

    @property
    def parent(self) -> PurePosixPath:
        return self.config_dir.parent

    def sibling(self, suffix: str) -> PurePosixPath:
        return self.config_dir.with_name(self.config_dir.name + suffix)

    def new_staging(self) -> tuple[str, PurePosixPath]:
        """A fresh token and the staging directory it names."""
        token = f"{int(time.time())}-{secrets.token_hex(4)}"
        return token, self.sibling(f".staging-{token}")

    def is_staging(self, name: str) -> bool:
        """Whether an entry of the parent is a staging directory (of any token)."""
        return name.startswith(self.config_dir.name + ".staging-")

    def is_stale(self, mtime: float | None) -> bool:
        """Whether a staging directory this old was left behind (by a dead worker)."""
        return mtime is not None and mtime < time.time() - self.STALE_STAGING_SECONDS

    @property
    def previous(self) -> PurePosixPath:
        return self.sibling(".previous")

    @property
    def failed(self) -> PurePosixPath:
        return self.sibling(".failed")

    @property
    def marker(self) -> PurePosixPath:
        return self.sibling(".applied")

    @staticmethod
    def directories(files: Iterable[str]) -> list[str]:
        """Every sub-directory the files need, parents first."""
        needed: set[str] = set()
        for path in files:
            parts = path.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                needed.add("/".join(parts[:depth]))
        return sorted(needed, key=lambda d: (d.count("/"), d))
