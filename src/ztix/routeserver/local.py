"""The route server is this machine: files written directly, BIRD's control socket spoken
directly (``control.py``, what ``birdc`` does)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

from ztix.config import RouteServerConfig
from ztix.routeserver import control, manifest
from ztix.routeserver.manifest import MANIFEST_FILE, FileStat, Manifest
from ztix.routeserver.transport import BirdcReply, Deployment, Layout, RouteServerError, Stage

# fsyncs in flight at once when writing a file set.
_SYNC_THREADS = 16


class LocalTransport:
    """The route server is this machine: files written directly, commands sent on BIRD's
    control socket (``routeserver/control.py``: the replies ``birdc -v`` would print)."""

    def __init__(
        self,
        config_dir: Path,
        *,
        birdc_socket: Path = Path("/run/bird/bird.ctl"),
        host: str = "localhost",
        command_timeout_seconds: float = 60,
    ) -> None:
        self._layout = Layout(PurePosixPath(str(config_dir)))
        self._socket = str(birdc_socket)
        self._host = host
        self._timeout = command_timeout_seconds

    @classmethod
    def from_config(cls, config: RouteServerConfig) -> LocalTransport:
        return cls(
            config.config_dir,
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
            return {
                relative: path.read_text(encoding="utf-8", errors="replace")
                for relative, path in _regular_files(root)
            }
        except OSError as exc:
            raise self._fail("read", f"cannot read {root}", exc) from exc

    def list_deployed(self) -> dict[str, FileStat]:
        root = Path(self._layout.config_dir)
        try:
            return {relative: stat for relative, _, stat in _scan(str(root))}
        except OSError as exc:
            raise self._fail("read", f"cannot list {root}", exc) from exc

    def read_manifest(self) -> Manifest | None:
        try:
            text = (Path(self._layout.config_dir) / MANIFEST_FILE).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None  # missing or unreadable: nothing is trusted, the files are read
        return Manifest.parse(text)

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

    def deploy(self, files: Mapping[str, str], reuse: Collection[str] = ()) -> Deployment:
        token, staging_path = self._layout.new_staging()
        staging = Path(staging_path)
        current = Path(self._layout.config_dir)
        self._remove_stale_staging()
        try:
            staging.mkdir(mode=Layout.DIR_MODE)
            directories = Layout.directories(files)
            for directory in directories:
                (staging / directory).mkdir(mode=Layout.DIR_MODE)
            stats: dict[str, FileStat] = {}
            written: list[tuple[str, str, str]] = []
            for relative, content in files.items():
                target = f"{staging}/{relative}"
                if relative in reuse and _linked(f"{current}/{relative}", target):
                    stats[relative] = _stat(target)
                else:
                    written.append((relative, target, content))
            stats.update(_write_durably(written))
            text = manifest.build(files, stats).to_text()
            _write_synced(staging / MANIFEST_FILE, text)
            # The new names are durable too: every directory of the set, deepest first (the
            # swap then syncs the parent that names the set itself).
            for directory in sorted(directories, key=lambda d: -d.count("/")):
                _fsync_directory(staging / directory)
            _fsync_directory(staging)
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
        try:
            for entry in parent.iterdir():
                if not self._layout.is_staging(entry.name):
                    continue
                if self._layout.is_stale(entry.lstat().st_mtime):
                    shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            pass  # best effort: a stale staging directory is only clutter

    def birdc(self, *args: str) -> BirdcReply:
        return control.command(self._socket, " ".join(args), self._timeout)

    def close(self) -> None:
        pass

    def __enter__(self) -> LocalTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _regular_files(root: Path) -> list[tuple[str, Path]]:
    """(relative path, path) of every regular file under ``root`` but the manifest."""
    return [(relative, Path(path)) for relative, path, _ in _scan(str(root))]


def _scan(root: str, prefix: str = "") -> list[tuple[str, str, FileStat]]:
    """(relative path, path, stat) of every regular file under ``root`` but the manifest,
    from directory listings (os.scandir: no symlink followed)."""
    found: list[tuple[str, str, FileStat]] = []
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return found
    for entry in entries:
        relative = f"{prefix}{entry.name}"
        if entry.is_dir(follow_symlinks=False):
            found.extend(_scan(entry.path, f"{relative}/"))
        elif entry.is_file(follow_symlinks=False) and relative != MANIFEST_FILE:
            status = entry.stat(follow_symlinks=False)
            found.append((relative, entry.path, FileStat(status.st_size, int(status.st_mtime))))
    return found


def _stat(path: Path | str) -> FileStat:
    status = os.stat(path)  # noqa: PTH116 - a plain path: 2,000 of these per deploy
    return FileStat(size=status.st_size, mtime=int(status.st_mtime))


def _linked(source: str, target: str) -> bool:
    """Hard-link a deployed file into the staging set; False when that cannot be done
    (then the file is written)."""
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError:
        return False
    return True


def _write_durably(files: list[tuple[str, str, str]]) -> dict[str, FileStat]:
    """Write each ``(relative, path, content)`` as a new file, then fsync them several at a
    time (the file system commits concurrent fsyncs together, so 2,000 files cost a few
    commits rather than 2,000); returns each file's stat.

    Creating the files (new inodes) is most of the cost, about 0.3 ms of CPU each on this
    machine whether or not they are synced; creating and fsyncing them from 16 threads at
    once, or one ``syncfs`` of the file system instead of the fsyncs, took as long within
    the machine's noise and more CPU (docs/performance.md)."""
    stats: dict[str, FileStat] = {}
    for relative, path, content in files:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, Layout.FILE_MODE)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            status = os.fstat(descriptor)
        stats[relative] = FileStat(size=status.st_size, mtime=int(status.st_mtime))
    paths = [path for _, path, _ in files]
    if len(paths) <= 1:
        for path in paths:
            _sync(path)
        return stats
    with ThreadPoolExecutor(max_workers=min(_SYNC_THREADS, len(paths))) as pool:
        list(pool.map(_sync, paths))
    return stats


def _sync(path: str) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_synced(path: Path | str, content: str) -> FileStat:
    """Write a new file and fsync it; its stat once on disk."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, Layout.FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(descriptor)
        status = os.fstat(descriptor)
    return FileStat(size=status.st_size, mtime=int(status.st_mtime))


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
