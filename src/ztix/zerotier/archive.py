"""Controller backup archives: what one holds, writing one, reading one back.

Archives (``ztix-controller-<UTC timestamp>.tar.gz``, mode 0600) hold:

- ``logical.json``: every network and every member as the API returns them, plus the
  controller's address and version. Made through the API only, so it works against a remote
  controller, and no object in it is ever half-written (each is read whole).
- ``files/``: when ``zerotier.controller.home_dir`` is set and readable, a copy of
  ``controller.d/``, ``identity.public`` and ``identity.secret``. The identity is the only
  way to keep every network ID after losing the machine. ``authtoken.secret`` is left out on
  purpose: it is a credential that can be regenerated (zerotier-one makes a new one when it
  is missing), and restoring an old one would silently undo a token rotation.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ztix.domain.controller import ArchiveError, BackupReport
from ztix.zerotier.controller import ControllerProvider, NodeStatus

if TYPE_CHECKING:
    import tarfile

# ``tarfile`` is imported by the functions that read or write an archive: an HTTP worker
# imports this module for the archives' names and lists them, and never opens one unless
# an admin backs up or restores (issue 17, P6).

log = logging.getLogger(__name__)

BACKUP_FORMAT = 1
ARCHIVE_PREFIX = "ztix-controller-"
_ARCHIVE_NAME = re.compile(r"ztix-controller-(\d{8}T\d{6}\.\d{6}Z)\.tar\.gz")
_SNAPSHOT_PATH = re.compile(
    r"identity\.public|identity\.secret"
    r"|controller\.d/network/[0-9a-f]{16}\.json"
    r"|controller\.d/network/[0-9a-f]{16}/member/[0-9a-f]{10}\.json"
)
IDENTITY_FILES = ("identity.public", "identity.secret")


# -- the archive -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Archive:
    """An archive's contents: the logical export and the file snapshot (may be empty)."""

    logical: dict[str, Any]
    files: dict[str, bytes]
    ignored: tuple[str, ...] = ()

    @property
    def address(self) -> str:
        return str(self.logical.get("controller", {}).get("address", ""))

    def networks(self) -> list[dict[str, Any]]:
        nets = self.logical.get("networks", [])
        return [n for n in nets if isinstance(n, dict)] if isinstance(nets, list) else []


def read_archive(path: Path) -> Archive:
    """Read an archive without extracting it: only regular files with expected names count,
    so a crafted archive cannot write outside the controller's home."""
    import tarfile

    files: dict[str, bytes] = {}
    ignored: list[str] = []
    logical: Any = None
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            for member in tar.getmembers():
                if not member.isreg():
                    ignored.append(member.name)
                    continue
                name = member.name
                handle = tar.extractfile(member)
                data = handle.read() if handle else b""
                if name == "logical.json":
                    logical = json.loads(data.decode("utf-8"))
                elif name.startswith("files/") and _SNAPSHOT_PATH.fullmatch(name[6:]):
                    files[name[6:]] = data
                else:
                    ignored.append(name)
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise ArchiveError(f"{path}: cannot read the archive: {exc}") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise ArchiveError(f"{path}: logical.json is not valid JSON: {exc}") from exc
    if not isinstance(logical, dict) or logical.get("format") != "ztix-controller-backup":
        raise ArchiveError(f"{path}: not a ZT-IX controller backup (no logical.json)")
    return Archive(logical, files, tuple(ignored))


# -- backup --------------------------------------------------------------------------------------


def _export(controller: ControllerProvider, status: NodeStatus) -> tuple[dict[str, Any], int]:
    networks: list[dict[str, Any]] = []
    member_count = 0
    for nwid in controller.list_networks():
        network = controller.get_network(nwid)
        members = []
        for node_id in sorted(controller.list_members(nwid)):
            member = controller.get_member_raw(nwid, node_id)
            if member is not None:  # deleted between list and get
                members.append(member)
        member_count += len(members)
        networks.append({"id": nwid, "network": network, "members": members})
    logical = {
        "format": "ztix-controller-backup",
        "format_version": BACKUP_FORMAT,
        "created_at": datetime.now(UTC).isoformat(),
        "controller": {"address": status.address, "version": status.version},
        "networks": networks,
    }
    return logical, member_count


def _snapshot(home: Path) -> tuple[dict[str, tuple[bytes, int]], str | None]:
    """The controller's files (path -> content and mode), or nothing and why not.

    Taken while the controller may be running, so a file may be caught mid-rewrite: the
    logical export is what to trust for networks and members; these files carry the identity.
    """
    files: dict[str, tuple[bytes, int]] = {}
    try:
        for name in IDENTITY_FILES:
            path = home / name
            files[name] = (path.read_bytes(), path.stat().st_mode & 0o777)
        db_dir = home / "controller.d"
        if not db_dir.is_dir():
            return {}, f"{db_dir} is not a directory"
        for path in sorted(db_dir.rglob("*.json")):
            rel = path.relative_to(home).as_posix()
            if path.is_file() and not path.is_symlink() and _SNAPSHOT_PATH.fullmatch(rel):
                files[rel] = (path.read_bytes(), path.stat().st_mode & 0o777)
    except OSError as exc:
        return {}, f"cannot read {exc.filename}: {exc.strerror}"
    return files, None


def _archive_name(now: datetime) -> str:
    return f"{ARCHIVE_PREFIX}{now.strftime('%Y%m%dT%H%M%S.%f')}Z.tar.gz"


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int, mtime: float) -> None:
    import tarfile

    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, mtime
    tar.addfile(info, io.BytesIO(data))


def list_archives(dest_dir: Path) -> list[Path]:
    """ZT-IX archives in ``dest_dir``, oldest first (by the timestamp in the name)."""
    if not dest_dir.is_dir():
        return []
    found = [p for p in dest_dir.iterdir() if _ARCHIVE_NAME.fullmatch(p.name) and p.is_file()]
    return sorted(found, key=lambda p: p.name)


def _retention(dest_dir: Path, keep: int) -> tuple[list[Path], list[Path]]:
    archives = list_archives(dest_dir)
    old, kept = archives[:-keep], archives[-keep:]
    for path in old:
        path.unlink(missing_ok=True)
    return old, kept


def backup(
    controller: ControllerProvider, home: Path | None, dest_dir: Path, keep: int
) -> BackupReport:
    """Write an archive to ``dest_dir`` (mode 0600) and keep only the newest ``keep``;
    ``home`` is the controller's home directory for the file snapshot (None: none).

    When ``home`` is given but cannot be read the archive is still written (its logical
    part is complete) but the report carries a warning and old archives are kept: they may
    be the only ones holding the identity. Raises :class:`ProviderError` when the
    controller cannot be read.
    """
    if keep < 1:
        raise ValueError("keep must be at least 1")
    import tarfile

    status = controller.status()
    logical, member_count = _export(controller, status)
    snapshot: dict[str, tuple[bytes, int]] = {}
    warnings: list[str] = []
    if home is not None:
        snapshot, why_not = _snapshot(home)
        if why_not:
            warnings.append(f"no file snapshot of {home}: {why_not}")
    logical["files_included"] = bool(snapshot)

    dest_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = datetime.now(UTC)
    final = dest_dir / _archive_name(now)
    while final.exists():  # two backups within a microsecond
        now = datetime.now(UTC)
        final = dest_dir / _archive_name(now)
    tmp = dest_dir / f".{final.name}.{secrets.token_hex(4)}.tmp"
    # Created 0600 from the start: the archive holds identity.secret.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz") as tar:
                stamp = now.timestamp()
                body = json.dumps(logical, indent=1, sort_keys=True).encode()
                _add(tar, "logical.json", body, 0o600, stamp)
                for name, (data, mode) in sorted(snapshot.items()):
                    _add(tar, f"files/{name}", data, mode, stamp)
            # A backup that a crash right after "done" can lose is no backup.
            raw.flush()
            os.fsync(raw.fileno())
        tmp.chmod(0o600)
        tmp.replace(final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    deleted, kept = ([], list_archives(dest_dir)) if warnings else _retention(dest_dir, keep)
    report = BackupReport(
        path=final,
        size_bytes=final.stat().st_size,
        controller_address=status.address,
        controller_version=status.version,
        networks=len(logical["networks"]),
        members=member_count,
        files_included=bool(snapshot),
        file_count=len(snapshot),
        warnings=warnings,
        deleted=deleted,
        kept=kept,
    )
    log.info("controller backup written to %s (%d bytes)", final, report.size_bytes)
    return report
