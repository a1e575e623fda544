"""How ZT-IX reaches a route server: its files under ``config_dir`` and its ``birdc``.

One small protocol, :class:`RouteServerTransport`, with two adapters: :class:`LocalTransport`
(this machine) and :class:`SshTransport` (SFTP and exec over one asyncssh connection, the host
key pinned to the configured known_hosts line). Both lay files out the same way::

    <config_dir>                   what BIRD includes (ztix.conf, peers/*.conf)
    <config_dir>.staging-<token>/  a new set being written
    <config_dir>.previous/         the set replaced by the last swap, kept for restore
    <config_dir>.failed/           the last set that was swapped out again by a restore
    <config_dir>.applied           hash of the last set BIRD confirmed (see apply.py)

A swap is two renames in the parent directory (``config_dir`` → ``.previous``, staging →
``config_dir``), so BIRD never reads a half-written set. The callers are sync worker
threads: every method here is synchronous; the SSH adapter runs asyncssh on a private
event loop thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import shlex
import shutil
import stat
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal, Protocol, TypeVar

import asyncssh

from ztix.config import RouteServerConfig

logger = logging.getLogger(__name__)

Stage = Literal[
    "sanity",  # the new file set is unusable (empty, no ztix.conf, bad path)
    "connect",  # TCP, SSH handshake or authentication failed; a lost connection
    "host_key",  # the server's host key is not the pinned one: refused
    "read",  # reading the deployed files failed
    "upload",  # writing the staging directory failed
    "swap",  # renaming staging into place failed (the previous set is back in place)
    "check",  # birdc configure check did not answer "Configuration OK"
    "configure",  # birdc configure ... timeout N was not accepted
    "verify",  # after configure: status does not answer, or a protocol is missing
    "confirm",  # birdc configure confirm failed (BIRD's timer may already have undone)
    "undo",  # birdc configure undo failed during a rollback
    "restore",  # putting the previous files back failed during a rollback
    "status",  # reading session state failed
]

MAIN_FILE = "ztix.conf"
_NAME_PART = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
_RELATIVE_PATH = re.compile(rf"^{_NAME_PART}(/{_NAME_PART})*$")
_STALE_STAGING_SECONDS = 3600
_UPLOAD_CONCURRENCY = 16
_EXCERPT_CHARS = 2000
FILE_MODE = 0o640
DIR_MODE = 0o750


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


@dataclass(frozen=True)
class BirdcReply:
    """What ``birdc -v`` printed. With ``-v`` every reply line starts with BIRD's 4-digit
    code (doc/reply_codes: 0xxx done, 1xxx table entry, 2xxx heading, 8xxx run-time error,
    9xxx parse error); continuation lines start with spaces and belong to the code above."""

    exit_status: int
    output: str

    @property
    def lines(self) -> list[tuple[int, str]]:
        """(code, text) for every line; continuation lines carry their block's code.
        Lines birdc prints itself (no code, e.g. "Unable to connect") get code -1."""
        parsed: list[tuple[int, str]] = []
        code = -1
        for raw in self.output.splitlines():
            match = _REPLY_LINE.match(raw)
            if match:
                code = int(match.group(1))
                parsed.append((code, match.group(3)))
            elif raw.startswith(" ") and code != -1:
                parsed.append((code, raw[5:] if raw[:5].isspace() else raw.strip()))
            elif raw.strip():
                code = -1
                parsed.append((code, raw.strip()))
        return parsed

    @property
    def codes(self) -> set[int]:
        return {code for code, _ in self.lines}

    @property
    def error(self) -> bool:
        """birdc failed, or BIRD answered with a run-time or parse error."""
        return self.exit_status != 0 or any(code >= 8000 for code in self.codes)

    def text(self, code: int) -> list[str]:
        return [text for c, text in self.lines if c == code]

    @property
    def message(self) -> str:
        """The reply without birdc's welcome line, for people."""
        kept = [f"{c:04d} {t}" if c >= 0 else t for c, t in self.lines if c != 1]
        return "\n".join(kept)


def birdc_command(birdc: str, socket: str, args: Iterable[str]) -> list[str]:
    return [birdc, "-v", "-s", socket, *args]


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
        """Every regular file under config_dir, by path relative to it (posix, "/")."""
        ...

    def read_applied_hash(self) -> str | None:
        """The hash recorded by the last confirmed apply, or None."""
        ...

    def record_applied_hash(self, value: str) -> None: ...

    def deploy(self, files: Mapping[str, str]) -> Deployment:
        """Write ``files`` to a staging directory, then swap it in as config_dir. On a
        failure nothing is swapped (stage upload) or the previous set is back (stage swap)."""
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
class _Layout:
    config_dir: PurePosixPath

    def __post_init__(self) -> None:
        if not self.config_dir.is_absolute() or self.config_dir.name in ("", ".", ".."):
            raise ValueError(f"config_dir must be an absolute directory path: {self.config_dir}")

    @property
    def parent(self) -> PurePosixPath:
        return self.config_dir.parent

    def sibling(self, suffix: str) -> PurePosixPath:
        return self.config_dir.with_name(self.config_dir.name + suffix)

    def staging(self, token: str) -> PurePosixPath:
        return self.sibling(f".staging-{token}")

    @property
    def staging_prefix(self) -> str:
        return self.config_dir.name + ".staging-"

    @property
    def previous(self) -> PurePosixPath:
        return self.sibling(".previous")

    @property
    def failed(self) -> PurePosixPath:
        return self.sibling(".failed")

    @property
    def marker(self) -> PurePosixPath:
        return self.sibling(".applied")


def _directories(files: Iterable[str]) -> list[str]:
    """Every sub-directory the files need, parents first."""
    needed: set[str] = set()
    for path in files:
        parts = path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            needed.add("/".join(parts[:depth]))
    return sorted(needed, key=lambda d: (d.count("/"), d))


def _new_token() -> str:
    return f"{int(time.time())}-{secrets.token_hex(4)}"


# --- this machine -----------------------------------------------------------------------


class LocalTransport:
    """The route server is this machine: files written directly, birdc run as a child."""

    def __init__(
        self,
        config_dir: Path,
        *,
        birdc: str = "birdc",
        birdc_socket: Path = Path("/run/bird/bird.ctl"),
        host: str = "localhost",
        command_timeout_seconds: float = 60,
    ) -> None:
        self._layout = _Layout(PurePosixPath(str(config_dir)))
        self._birdc = birdc
        self._socket = str(birdc_socket)
        self._host = host
        self._timeout = command_timeout_seconds

    @classmethod
    def from_config(cls, config: RouteServerConfig) -> LocalTransport:
        return cls(
            config.config_dir,
            birdc=config.birdc,
            birdc_socket=config.birdc_socket,
            host=config.host or "localhost",
            command_timeout_seconds=max(config.configure_timeout_seconds, 30),
        )

    @property
    def host(self) -> str:
        return self._host

    def _fail(self, stage: Stage, message: str, exc: BaseException) -> RouteServerError:
        return RouteServerError(stage, f"{message}: {exc}", host=self._host)

    def read_deployed(self) -> dict[str, str]:
        root = Path(self._layout.config_dir)
        try:
            if not root.is_dir():
                return {}
            found: dict[str, str] = {}
            for path in root.rglob("*"):
                if path.is_file() and not path.is_symlink():
                    relative = path.relative_to(root).as_posix()
                    found[relative] = path.read_text(encoding="utf-8", errors="replace")
            return found
        except OSError as exc:
            raise self._fail("read", f"cannot read {root}", exc) from exc

    def read_applied_hash(self) -> str | None:
        try:
            return Path(self._layout.marker).read_text(encoding="ascii").strip() or None
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise self._fail("read", "cannot read the applied-hash marker", exc) from exc

    def record_applied_hash(self, value: str) -> None:
        marker = Path(self._layout.marker)
        temporary = marker.with_name(marker.name + ".tmp")
        try:
            _write_synced(temporary, value + "\n")
            temporary.replace(marker)
        except OSError as exc:
            raise self._fail("confirm", "cannot record the applied hash", exc) from exc

    def deploy(self, files: Mapping[str, str]) -> Deployment:
        layout = self._layout
        token = _new_token()
        staging = Path(layout.staging(token))
        self._remove_stale_staging()
        try:
            staging.mkdir(mode=DIR_MODE)
            for directory in _directories(files):
                (staging / directory).mkdir(mode=DIR_MODE)
            for relative, content in files.items():
                _write_synced(staging / relative, content)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise self._fail("upload", f"cannot write {staging}", exc) from exc
        return self._swap(staging, token)

    def _swap(self, staging: Path, token: str) -> Deployment:
        current, previous = Path(self._layout.config_dir), Path(self._layout.previous)
        moved = False
        try:
            if not current.exists() and previous.is_dir():
                # An earlier swap stopped between its two renames: put its previous back.
                previous.rename(current)
            if previous.exists():
                shutil.rmtree(previous)
            had_previous = current.exists()
            if had_previous:
                current.rename(previous)
                moved = True
            staging.rename(current)
            _fsync_directory(current.parent)
        except OSError as exc:
            if moved and not current.exists():
                with contextlib.suppress(OSError):
                    previous.rename(current)
            shutil.rmtree(staging, ignore_errors=True)
            raise self._fail("swap", f"cannot swap {staging.name} into {current}", exc) from exc
        return Deployment(token=token, had_previous=had_previous)

    def restore(self, deployment: Deployment) -> None:
        current, previous = Path(self._layout.config_dir), Path(self._layout.previous)
        failed = Path(self._layout.failed)
        try:
            if failed.exists():
                shutil.rmtree(failed)
            if current.exists():
                current.rename(failed)
            if deployment.had_previous:
                previous.rename(current)
            _fsync_directory(current.parent)
        except OSError as exc:
            raise self._fail("restore", f"cannot restore {previous} as {current}", exc) from exc

    def _remove_stale_staging(self) -> None:
        parent = Path(self._layout.parent)
        cutoff = time.time() - _STALE_STAGING_SECONDS
        try:
            for entry in parent.iterdir():
                if not entry.name.startswith(self._layout.staging_prefix):
                    continue
                if entry.lstat().st_mtime < cutoff:
                    shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            pass  # best effort: a stale staging directory is only clutter

    def birdc(self, *args: str) -> BirdcReply:
        command = birdc_command(self._birdc, self._socket, args)
        try:
            done = subprocess.run(  # noqa: S603 - argv list, no shell; args are validated
                command, capture_output=True, text=True, timeout=self._timeout, check=False
            )
        except FileNotFoundError:
            return BirdcReply(127, f"{self._birdc}: not found")
        except subprocess.TimeoutExpired:
            return BirdcReply(-1, f"birdc {' '.join(args)}: no answer within {self._timeout} s")
        except OSError as exc:
            return BirdcReply(126, f"{self._birdc}: cannot run: {exc}")
        return BirdcReply(done.returncode, done.stdout + done.stderr)

    def close(self) -> None:
        pass

    def __enter__(self) -> LocalTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _write_synced(path: Path, content: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# --- SSH --------------------------------------------------------------------------------

T = TypeVar("T")

_KEY_TYPE = re.compile(r"^(ssh-|ecdsa-|sk-|rsa-sha2-)")


@dataclass(frozen=True)
class PinnedHostKeys:
    """The keys a known_hosts line (or several) pins. The host field is not matched: the
    line is configured for this one route server, so its keys are trusted for it alone."""

    host_keys: tuple[asyncssh.SSHKey, ...]
    ca_keys: tuple[asyncssh.SSHKey, ...]
    revoked: tuple[asyncssh.SSHKey, ...]

    @classmethod
    def parse(cls, text: str) -> PinnedHostKeys:
        host_keys: list[asyncssh.SSHKey] = []
        ca_keys: list[asyncssh.SSHKey] = []
        revoked: list[asyncssh.SSHKey] = []
        for line in text.splitlines():
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            target = host_keys
            if fields[0] in ("@cert-authority", "@revoked"):
                target = ca_keys if fields[0] == "@cert-authority" else revoked
                fields = fields[1:]
            elif fields[0].startswith("@"):
                raise ValueError(f"unknown known_hosts marker {fields[0]}")
            if fields and not _KEY_TYPE.match(fields[0]):
                fields = fields[1:]  # the host pattern
            if len(fields) < 2:
                raise ValueError("a known_hosts line is [host] <key type> <base64 key>")
            try:
                target.append(asyncssh.import_public_key(f"{fields[0]} {fields[1]}"))
            except (asyncssh.KeyImportError, ValueError) as exc:
                raise ValueError(f"not a public key: {exc}") from exc
        if not host_keys and not ca_keys:
            raise ValueError("no host key in host_key")
        return cls(tuple(host_keys), tuple(ca_keys), tuple(revoked))

    def pins(self, key: asyncssh.SSHKey) -> bool:
        return any(key.public_data == pinned.public_data for pinned in self.host_keys)

    def describe(self) -> str:
        keys = self.host_keys or self.ca_keys
        return ", ".join(f"{k.get_algorithm()} {k.get_fingerprint()}" for k in keys)

    def as_known_hosts(
        self,
    ) -> tuple[list[asyncssh.SSHKey], list[asyncssh.SSHKey], list[asyncssh.SSHKey]]:
        return list(self.host_keys), list(self.ca_keys), list(self.revoked)


class _LoopThread:
    """An asyncio loop on its own daemon thread, so sync callers can drive asyncssh."""

    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


class SshTransport:
    """The route server over SSH: SFTP for files, exec for birdc, one connection opened on
    first use (and again after a loss) and kept until :meth:`close`."""

    def __init__(
        self,
        config: RouteServerConfig,
        *,
        operation_timeout_seconds: float | None = None,
    ) -> None:
        self._config = config
        self._layout = _Layout(PurePosixPath(str(config.config_dir)))
        self._socket = str(config.birdc_socket)
        self._connect_timeout = config.ssh_timeout_seconds
        # Reading or writing thousands of files, or a configure of a large set, takes a while.
        self._timeout = operation_timeout_seconds or max(60.0, config.configure_timeout_seconds)
        self._loop: _LoopThread | None = None
        self._connection: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        return self._config.host

    @property
    def _where(self) -> str:
        return f"{self._config.user}@{self._config.host}:{self._config.port}"

    # -- plumbing

    def _run(self, stage: Stage, what: str, step: Callable[[], Awaitable[T]]) -> T:
        with self._lock:
            if self._loop is None:
                self._loop = _LoopThread(f"ssh-{self._config.name}")
            return self._loop.run(self._guarded(stage, what, step))

    async def _guarded(self, stage: Stage, what: str, step: Callable[[], Awaitable[T]]) -> T:
        """Run one step with a deadline; map what goes wrong to RouteServerError(stage)."""
        limit = self._timeout + self._connect_timeout
        try:
            async with asyncio.timeout(limit):
                return await step()
        except RouteServerError:
            raise
        except asyncssh.DisconnectError as exc:
            self._drop_connection()
            raise self._fail("connect", f"lost the connection to {self._where}", exc) from exc
        except TimeoutError as exc:
            self._drop_connection()  # requests may still be in flight: start afresh
            raise self._fail(stage, f"{what}: no answer within {limit:g} s") from exc
        except (OSError, asyncssh.Error) as exc:
            raise self._fail(stage, what, exc) from exc

    def _drop_connection(self) -> None:
        if self._connection is not None:
            self._connection.abort()
        self._connection, self._sftp = None, None

    def _fail(
        self, stage: Stage, message: str, exc: BaseException | None = None
    ) -> RouteServerError:
        detail = f"{message}: {exc}" if exc is not None else message
        return RouteServerError(stage, detail, host=self.host)

    async def _connect(self) -> asyncssh.SSHClientConnection:
        if self._connection is not None and not self._connection.is_closed():
            return self._connection
        self._connection, self._sftp = None, None
        config = self._config
        try:
            pinned = PinnedHostKeys.parse(config.host_key)
        except ValueError as exc:
            raise self._fail("host_key", "host_key is not a usable known_hosts line", exc) from exc
        if config.private_key_file is None:
            raise self._fail("connect", "no private_key_file configured")
        try:
            key = asyncssh.read_private_key(config.private_key_file)
        except (OSError, asyncssh.KeyImportError, ValueError) as exc:
            raise self._fail("connect", f"cannot load {config.private_key_file}", exc) from exc
        try:
            self._connection = await asyncssh.connect(
                config.host,
                config.port,
                username=config.user,
                client_keys=[key],
                known_hosts=pinned.as_known_hosts(),
                connect_timeout=self._connect_timeout,
                keepalive_interval=self._connect_timeout,
                keepalive_count_max=3,
                preferred_auth="publickey",
                agent_path=None,
                config=None,
                x509_trusted_certs=None,
            )
        except (
            asyncssh.HostKeyNotVerifiable,
            asyncssh.KeyExchangeFailed,
            asyncssh.ConnectionLost,
            ConnectionResetError,
        ) as exc:
            # A key other than the pinned one, or (OpenSSH hangs up when no host key type
            # matches the pinned ones) no key of the pinned type: look at what it presents.
            presented = await self._presented_key(pinned)
            if isinstance(exc, asyncssh.HostKeyNotVerifiable) or (
                presented is not None and not pinned.pins(presented)
            ):
                offered = (
                    f"{presented.get_algorithm()} {presented.get_fingerprint()}"
                    if presented is not None
                    else "another key"
                )
                raise self._fail(
                    "host_key",
                    f"{self._where} presents {offered}, not the pinned "
                    f"{pinned.describe()}: refused",
                ) from exc
            raise self._fail("connect", f"SSH handshake with {self._where} failed", exc) from exc
        except asyncssh.PermissionDenied as exc:
            raise self._fail("connect", f"{self._where} refused the SSH key", exc) from exc
        except TimeoutError as exc:
            waited = f"{self._connect_timeout:g} s"
            raise self._fail(
                "connect", f"cannot connect to {self._where}: no SSH answer within {waited}"
            ) from exc
        except (OSError, asyncssh.Error) as exc:
            reason = str(exc) or type(exc).__name__
            raise self._fail("connect", f"cannot connect to {self._where}: {reason}") from exc
        return self._connection

    async def _presented_key(self, pinned: PinnedHostKeys) -> asyncssh.SSHKey | None:
        """The host key the server presents (for the diagnosis only): of a pinned type when
        it has one, else of the type it prefers."""
        pinned_algs = [alg.decode() for key in pinned.host_keys for alg in key.sig_algorithms]
        for algs in (pinned_algs, []):
            try:
                async with asyncio.timeout(self._connect_timeout):
                    return await asyncssh.get_server_host_key(
                        self._config.host,
                        self._config.port,
                        server_host_key_algs=algs or (),
                        config=None,
                    )
            except (OSError, asyncssh.Error, TimeoutError):
                continue
        return None

    async def _files(self) -> asyncssh.SFTPClient:
        connection = await self._connect()
        if self._sftp is None:
            try:
                self._sftp = await connection.start_sftp_client()
            except (OSError, asyncssh.Error) as exc:
                raise self._fail("connect", f"{self._where} refused SFTP", exc) from exc
        return self._sftp

    # -- files

    def read_deployed(self) -> dict[str, str]:
        root = str(self._layout.config_dir)

        async def read() -> dict[str, str]:
            sftp = await self._files()
            if not await sftp.isdir(root):
                return {}
            paths = await _remote_files(sftp, root)
            limit = asyncio.Semaphore(_UPLOAD_CONCURRENCY)

            async def fetch(relative: str) -> tuple[str, str]:
                async with limit, sftp.open(f"{root}/{relative}", "rb", encoding=None) as handle:
                    return relative, _text(await handle.read())

            return dict(await asyncio.gather(*(fetch(p) for p in paths)))

        return self._run("read", f"cannot read {root}", read)

    def read_applied_hash(self) -> str | None:
        marker = str(self._layout.marker)

        async def read() -> str | None:
            sftp = await self._files()
            try:
                async with sftp.open(marker, "rb", encoding=None) as handle:
                    return _text(await handle.read()).strip() or None
            except asyncssh.SFTPNoSuchFile:
                return None

        return self._run("read", f"cannot read {marker}", read)

    def record_applied_hash(self, value: str) -> None:
        marker = str(self._layout.marker)

        async def write() -> None:
            sftp = await self._files()
            temporary = marker + ".tmp"
            await _remote_write(sftp, temporary, value + "\n")
            try:
                await sftp.posix_rename(temporary, marker)
            except asyncssh.SFTPOpUnsupported:  # not OpenSSH: no atomic replace
                with contextlib.suppress(asyncssh.SFTPNoSuchFile):
                    await sftp.remove(marker)
                await sftp.rename(temporary, marker)

        self._run("confirm", f"cannot write {marker}", write)

    def deploy(self, files: Mapping[str, str]) -> Deployment:
        token = _new_token()
        staging = str(self._layout.staging(token))

        async def upload() -> None:
            sftp = await self._files()
            await self._remove_stale_staging(sftp)
            try:
                await sftp.mkdir(staging, asyncssh.SFTPAttrs(permissions=DIR_MODE))
                for directory in _directories(files):
                    path = f"{staging}/{directory}"
                    await sftp.mkdir(path, asyncssh.SFTPAttrs(permissions=DIR_MODE))
                limit = asyncio.Semaphore(_UPLOAD_CONCURRENCY)

                async def put(relative: str, content: str) -> None:
                    async with limit:
                        await _remote_write(sftp, f"{staging}/{relative}", content)

                await asyncio.gather(*(put(p, c) for p, c in files.items()))
            except Exception:
                await _remote_rmtree(sftp, staging)
                raise

        self._run("upload", f"cannot write {staging}", upload)
        return self._run("swap", "cannot swap", lambda: self._swap(staging, token))

    async def _swap(self, staging: str, token: str) -> Deployment:
        sftp = await self._files()
        current, previous = str(self._layout.config_dir), str(self._layout.previous)
        moved = False
        try:
            if not await sftp.exists(current) and await sftp.isdir(previous):
                # An earlier swap stopped between its two renames: put its previous back.
                await sftp.rename(previous, current)
            if await sftp.exists(previous):
                await sftp.rmtree(previous)
            had_previous = await sftp.exists(current)
            if had_previous:
                await sftp.rename(current, previous)
                moved = True
            await sftp.rename(staging, current)
        except (OSError, asyncssh.SFTPError) as exc:
            with contextlib.suppress(OSError, asyncssh.Error):
                if moved and not await sftp.exists(current):
                    await sftp.rename(previous, current)
            await _remote_rmtree(sftp, staging)
            raise self._fail("swap", f"cannot swap {staging} into {current}", exc) from exc
        return Deployment(token=token, had_previous=had_previous)

    def restore(self, deployment: Deployment) -> None:
        current, previous = str(self._layout.config_dir), str(self._layout.previous)
        failed = str(self._layout.failed)

        async def put_back() -> None:
            sftp = await self._files()
            if await sftp.exists(failed):
                await sftp.rmtree(failed)
            if await sftp.exists(current):
                await sftp.rename(current, failed)
            if deployment.had_previous:
                await sftp.rename(previous, current)

        self._run("restore", f"cannot restore {previous} as {current}", put_back)

    async def _remove_stale_staging(self, sftp: asyncssh.SFTPClient) -> None:
        cutoff = time.time() - _STALE_STAGING_SECONDS
        parent = str(self._layout.parent)
        try:
            async for entry in sftp.scandir(parent):
                name = str(entry.filename)
                mtime = entry.attrs.mtime
                stale = mtime is not None and mtime < cutoff
                if name.startswith(self._layout.staging_prefix) and stale:
                    await _remote_rmtree(sftp, f"{parent}/{name}")
        except asyncssh.SFTPError:
            pass  # best effort: a stale staging directory is only clutter

    # -- birdc

    def birdc(self, *args: str) -> BirdcReply:
        command = shlex.join(birdc_command(self._config.birdc, self._socket, args))
        timeout = self._timeout

        async def run() -> BirdcReply:
            connection = await self._connect()
            try:
                done = await connection.run(command, check=False, timeout=timeout)
            except asyncssh.TimeoutError:
                return BirdcReply(-1, f"birdc {' '.join(args)}: no answer within {timeout} s")
            except asyncssh.DisconnectError as exc:
                self._drop_connection()
                return BirdcReply(-1, f"lost the connection to {self._where}: {exc}")
            except (OSError, asyncssh.Error) as exc:
                return BirdcReply(-1, f"cannot run birdc on {self._where}: {exc}")
            status = done.exit_status if done.exit_status is not None else -1
            return BirdcReply(status, _text(done.stdout) + _text(done.stderr))

        reply = self._run("connect", f"no answer from {self._where}", run)
        if reply.exit_status == 127:
            return BirdcReply(
                127, reply.output + f"\n{self._config.birdc}: not found (give the full path)"
            )
        return reply

    def close(self) -> None:
        with self._lock:
            if self._loop is None:
                return
            loop, self._loop = self._loop, None

        async def disconnect() -> None:
            if self._connection is not None:
                self._connection.close()
                async with asyncio.timeout(self._connect_timeout):
                    await self._connection.wait_closed()

        try:
            loop.run(disconnect())
        except Exception:  # closing must not fail the caller
            logger.debug("route server %s: unclean SSH close", self.host, exc_info=True)
        finally:
            self._connection, self._sftp = None, None
            loop.stop()

    def __enter__(self) -> SshTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _is_directory(attrs: asyncssh.SFTPAttrs) -> bool:
    return attrs.permissions is not None and stat.S_ISDIR(attrs.permissions)


def _is_regular(attrs: asyncssh.SFTPAttrs) -> bool:
    return attrs.permissions is not None and stat.S_ISREG(attrs.permissions)


async def _remote_files(sftp: asyncssh.SFTPClient, root: str) -> list[str]:
    found: list[str] = []
    pending = [""]
    while pending:
        relative = pending.pop()
        async for entry in sftp.scandir(f"{root}/{relative}" if relative else root):
            name = str(entry.filename)
            if name in (".", ".."):
                continue
            path = f"{relative}/{name}" if relative else name
            if _is_directory(entry.attrs):
                pending.append(path)
            elif _is_regular(entry.attrs):
                found.append(path)
    return found


async def _remote_write(sftp: asyncssh.SFTPClient, path: str, content: str) -> None:
    attrs = asyncssh.SFTPAttrs(permissions=FILE_MODE)
    async with sftp.open(path, "wb", attrs, encoding=None) as handle:
        await handle.write(content.encode("utf-8"))
        # A server without fsync@openssh.com: written, not forced to disk.
        with contextlib.suppress(asyncssh.SFTPOpUnsupported):
            await handle.fsync()


async def _remote_rmtree(sftp: asyncssh.SFTPClient, path: str) -> None:
    with contextlib.suppress(OSError, asyncssh.Error):
        await sftp.rmtree(path, ignore_errors=True)


def transport_for(config: RouteServerConfig) -> RouteServerTransport:
    """The adapter the route server's config asks for."""
    if config.transport == "local":
        return LocalTransport.from_config(config)
    return SshTransport(config)
