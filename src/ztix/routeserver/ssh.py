"""The route server over SSH: SFTP for files, exec for ``birdc``, the host key pinned to the
configured known_hosts line. asyncssh runs on a private event-loop thread so the sync
callers (sync worker threads) can drive it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shlex
import stat
import threading
from collections.abc import Awaitable, Callable, Collection, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, TypeVar

import asyncssh

from ztix.config import RouteServerConfig
from ztix.routeserver import manifest
from ztix.routeserver.manifest import MANIFEST_FILE, FileStat, Manifest
from ztix.routeserver.transport import BirdcReply, Deployment, Layout, RouteServerError, Stage

logger = logging.getLogger(__name__)
# SFTP requests in flight at once when reading or writing a file set.
_CONCURRENCY = 16

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
        self._layout = Layout(PurePosixPath(str(config.config_dir)))
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
            paths = [p for p in await _remote_files(sftp, root) if p != MANIFEST_FILE]
            limit = asyncio.Semaphore(_CONCURRENCY)

            async def fetch(relative: str) -> tuple[str, str]:
                async with limit, sftp.open(f"{root}/{relative}", "rb", encoding=None) as handle:
                    return relative, _text(await handle.read())

            return dict(await asyncio.gather(*(fetch(p) for p in paths)))

        return self._run("read", f"cannot read {root}", read)

    def list_deployed(self) -> dict[str, FileStat]:
        root = str(self._layout.config_dir)

        async def listing() -> dict[str, FileStat]:
            sftp = await self._files()
            if not await sftp.isdir(root):
                return {}
            found = await _remote_stats(sftp, root)
            found.pop(MANIFEST_FILE, None)
            return found

        return self._run("read", f"cannot list {root}", listing)

    def read_manifest(self) -> Manifest | None:
        path = f"{self._layout.config_dir}/{MANIFEST_FILE}"

        async def read() -> Manifest | None:
            sftp = await self._files()
            try:
                async with sftp.open(path, "rb", encoding=None) as handle:
                    return Manifest.parse(_text(await handle.read()))
            except asyncssh.SFTPError:
                return None  # missing or unreadable: nothing is trusted, the files are read

        return self._run("read", f"cannot read {path}", read)

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

    def deploy(self, files: Mapping[str, str], reuse: Collection[str] = ()) -> Deployment:
        token, staging_path = self._layout.new_staging()
        staging = str(staging_path)
        current = str(self._layout.config_dir)

        async def upload() -> None:
            sftp = await self._files()
            await self._remove_stale_staging(sftp)
            try:
                await sftp.mkdir(staging, asyncssh.SFTPAttrs(permissions=Layout.DIR_MODE))
                for directory in Layout.directories(files):
                    path = f"{staging}/{directory}"
                    await sftp.mkdir(path, asyncssh.SFTPAttrs(permissions=Layout.DIR_MODE))
                limit = asyncio.Semaphore(_CONCURRENCY)

                async def put(relative: str, content: str) -> None:
                    async with limit:
                        target = f"{staging}/{relative}"
                        if relative in reuse:
                            # Unchanged: a hard link to the running copy (OpenSSH's
                            # hardlink@openssh.com), written when the server cannot.
                            with contextlib.suppress(asyncssh.SFTPError):
                                await sftp.link(f"{current}/{relative}", target)
                                return
                        await _remote_write(sftp, target, content)

                await asyncio.gather(*(put(p, c) for p, c in files.items()))
                stats = await _remote_stats(sftp, staging)
                text = manifest.build(files, stats).to_text()
                await _remote_write(sftp, f"{staging}/{MANIFEST_FILE}", text)
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
        parent = str(self._layout.parent)
        try:
            async for entry in sftp.scandir(parent):
                name = str(entry.filename)
                if self._layout.is_staging(name) and self._layout.is_stale(entry.attrs.mtime):
                    await _remote_rmtree(sftp, f"{parent}/{name}")
        except asyncssh.SFTPError:
            pass  # best effort: a stale staging directory is only clutter

    # -- birdc

    def birdc(self, *args: str) -> BirdcReply:
        command = shlex.join(BirdcReply.command(self._config.birdc, self._socket, args))
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
    return list(await _remote_stats(sftp, root))


async def _remote_stats(sftp: asyncssh.SFTPClient, root: str) -> dict[str, FileStat]:
    """Size and time of every regular file under ``root``, from directory listings."""
    found: dict[str, FileStat] = {}
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
                attrs = entry.attrs
                found[path] = FileStat(size=attrs.size or 0, mtime=int(attrs.mtime or 0))
    return found


async def _remote_write(sftp: asyncssh.SFTPClient, path: str, content: str) -> None:
    attrs = asyncssh.SFTPAttrs(permissions=Layout.FILE_MODE)
    async with sftp.open(path, "wb", attrs, encoding=None) as handle:
        await handle.write(content.encode("utf-8"))
        # A server without fsync@openssh.com: written, not forced to disk.
        with contextlib.suppress(asyncssh.SFTPOpUnsupported):
            await handle.fsync()


async def _remote_rmtree(sftp: asyncssh.SFTPClient, path: str) -> None:
    with contextlib.suppress(OSError, asyncssh.Error):
        await sftp.rmtree(path, ignore_errors=True)
