"""The route server is this machine: files written directly, ``birdc`` run as a child."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from ztix.config import RouteServerConfig
from ztix.routeserver.transport import BirdcReply, Deployment, Layout, RouteServerError, Stage


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
        self._layout = Layout(PurePosixPath(str(config_dir)))
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
        token, staging_path = self._layout.new_staging()
        staging = Path(staging_path)
        self._remove_stale_staging()
        try:
            staging.mkdir(mode=Layout.DIR_MODE)
            for directory in Layout.directories(files):
                (staging / directory).mkdir(mode=Layout.DIR_MODE)
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
        try:
            for entry in parent.iterdir():
                if not self._layout.is_staging(entry.name):
                    continue
                if self._layout.is_stale(entry.lstat().st_mtime):
                    shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            pass  # best effort: a stale staging directory is only clutter

    def birdc(self, *args: str) -> BirdcReply:
        command = BirdcReply.command(self._birdc, self._socket, args)
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
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, Layout.FILE_MODE)
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
