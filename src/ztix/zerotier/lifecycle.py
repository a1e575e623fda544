"""The self-hosted controller's lifecycle: preflight, token reload, backup, restore, drift.

Each operation returns a typed report and writes audit events. Controller calls happen with
no database transaction open (DESIGN §2); the audit events (and, for preflight, the networks
table) are written afterwards in one short transaction.

Backup archives (``ztix-controller-<UTC timestamp>.tar.gz``, mode 0600) hold:

- ``logical.json``: every network and every member as the API returns them, plus the
  controller's address and version. Made through the API only, so it works against a remote
  controller, and no object in it is ever half-written (each is read whole).
- ``files/``: when ``zerotier.controller.home_dir`` is set and readable, a copy of
  ``controller.d/``, ``identity.public`` and ``identity.secret``. The identity is the only
  way to keep every network ID after losing the machine. ``authtoken.secret`` is left out on
  purpose: it is a credential that can be regenerated (zerotier-one makes a new one when it
  is missing), and restoring an old one would silently undo a token rotation.

Restores: ``files`` writes the snapshot into the home directory and refuses while anything
answers on the controller's URL (the controller rewrites its files while it runs);
``logical`` re-creates networks and members through the API and refuses networks whose ID
does not start with the controller's address (a controller stores such a network but never
serves it to members). ``restore_validate`` restores into a scratch emulator and compares the
result with the database's active memberships.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import json
import logging
import os
import re
import secrets
import tarfile
import tempfile
from collections.abc import Iterable, Iterator, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from ztix.config import NetworkConfig, Settings
from ztix.db.models import AddressAssignment, IxNetwork, JoinRequest
from ztix.db.session import Database
from ztix.domain.requests import RequestStatus
from ztix.workflow import audit
from ztix.workflow.audit import CLI, Actor
from ztix.workflow.networks import sync_networks
from ztix.zerotier import layer2
from ztix.zerotier.controller import ControllerProvider, ControllerSettings, NodeStatus
from ztix.zerotier.emulator import ControllerEmulator
from ztix.zerotier.layer2 import Change
from ztix.zerotier.provider import ProviderError, ProviderNotFound

log = logging.getLogger(__name__)

TESTED_VERSION_PREFIX = "1.14."
BACKUP_FORMAT = 1
ARCHIVE_PREFIX = "ztix-controller-"
_ARCHIVE_NAME = re.compile(r"ztix-controller-(\d{8}T\d{6}\.\d{6}Z)\.tar\.gz")
_SNAPSHOT_PATH = re.compile(
    r"identity\.public|identity\.secret"
    r"|controller\.d/network/[0-9a-f]{16}\.json"
    r"|controller\.d/network/[0-9a-f]{16}/member/[0-9a-f]{10}\.json"
)
_IDENTITY_FILES = ("identity.public", "identity.secret")

# Network and member fields a restore writes back; the rest is computed by the controller.
NETWORK_FIELDS = (
    "name",
    "private",
    "enableBroadcast",
    "multicastLimit",
    "mtu",
    "v4AssignMode",
    "v6AssignMode",
    "routes",
    "ipAssignmentPools",
    "rules",
    "capabilities",
    "tags",
    "dns",
    "remoteTraceTarget",
)
MEMBER_FIELDS = (
    "authorized",
    "activeBridge",
    "noAutoAssignIps",
    "name",
    "ipAssignments",
    "tags",
    "capabilities",
    "authenticationExpiryTime",
)

# A request in one of these states may or may not be authorized right now: a job is moving
# it. Neither side of a comparison treats its member as drift.
IN_FLIGHT = frozenset(
    {RequestStatus.APPROVED, RequestStatus.PROVISIONING, RequestStatus.DEPROVISIONING}
)


# -- checks ------------------------------------------------------------------------------------

CheckStatus = Literal["pass", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    """One named readiness check. ``warn`` does not fail anything; it is worth a look."""

    name: str
    status: CheckStatus
    detail: str

    @property
    def ok(self) -> bool:
        return self.status != "fail"

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail}


def first_failure(checks: Iterable[Check]) -> Check | None:
    return next((c for c in checks if not c.ok), None)


def _status_checks(controller: ControllerProvider) -> tuple[NodeStatus | None, list[Check]]:
    """``GET /status``: the controller's address, version and whether it is online."""
    try:
        status = controller.status()
    except ProviderError as exc:
        return None, [Check("status", "fail", f"GET /status failed: {exc.message}")]
    state = "online" if status.online else "not online (members cannot reach it yet)"
    checks = [
        Check(
            "status",
            "pass" if status.online else "warn",
            f"controller {status.address}, zerotier-one {status.version}, {state}",
        )
    ]
    if not status.version.startswith(TESTED_VERSION_PREFIX):
        checks.append(
            Check(
                "version",
                "warn",
                f"zerotier-one {status.version}: ZT-IX is tested with 1.14.x "
                "(1.16 moved the controller under a non-commercial licence)",
            )
        )
    return status, checks


def _controller_check(controller: ControllerProvider) -> Check:
    """``GET /controller``: a controller runs here and its database is ready (503: not)."""
    try:
        state = controller.controller_status()
    except ProviderError as exc:
        return Check("controller", "fail", f"GET /controller failed: {exc.message}")
    if not state.controller:
        return Check("controller", "fail", "this zerotier-one node runs no network controller")
    if not state.database_ready:
        return Check(
            "controller",
            "fail",
            "databaseReady is false (GET /controller answered 503): the controller's "
            "database is not ready",
        )
    return Check("controller", "pass", f"database ready (API version {state.api_version})")


def _foreign(nwid: str, address: str) -> str:
    return (
        f"network {nwid} belongs to another controller ({nwid[:10]}), not to this one "
        f"({address}): a controller stores such a network but never serves it to members. "
        f"Declare it by suffix ({nwid[10:]}) or point zerotier.controller at {nwid[:10]}"
    )


def _network_label(conf: NetworkConfig, address: str | None) -> str:
    return f"network {conf.network_id(address) or 'suffix ' + (conf.suffix or '?')}"


def check_ready(settings: Settings, controller: ControllerProvider) -> list[Check]:
    """Cheap, read-only readiness: controller status and database, and every declared
    network present under this controller with the IX layer-2 settings. Layer-2 drift fails
    the check, naming the fields: the peering LAN is not what ZT-IX promises (an MTU of 2800
    black-holes packets, an assignment mode hands out addresses) until the reconciler has
    set them back, within one ``jobs.reconcile_interval_seconds``."""
    status, checks = _status_checks(controller)
    if status is None:
        return checks
    ctrl = _controller_check(controller)
    checks.append(ctrl)
    if not ctrl.ok:
        return checks
    for conf in settings.networks:
        label = _network_label(conf, status.address)
        nwid = conf.network_id(status.address)
        assert nwid is not None
        if not nwid.startswith(status.address):
            checks.append(Check(label, "fail", _foreign(nwid, status.address)))
            continue
        try:
            actual = controller.get_network(nwid)
        except ProviderNotFound:
            checks.append(
                Check(label, "fail", "missing on the controller (the reconciler re-creates it)")
            )
            continue
        except ProviderError as exc:
            checks.append(Check(label, "fail", exc.message))
            continue
        changes = layer2.drift(actual, layer2.desired_network(conf))
        if changes:
            fields = ", ".join(c.field for c in changes)
            checks.append(
                Check(
                    label,
                    "fail",
                    f"layer-2 settings differ from desired in {fields} "
                    "(the reconciler sets them back)",
                )
            )
        else:
            checks.append(Check(label, "pass", "present with the IX layer-2 settings"))
    return checks


# -- preflight ---------------------------------------------------------------------------------

NetworkAction = Literal["created", "corrected", "unchanged", "failed"]


@dataclass(frozen=True)
class NetworkOutcome:
    """What preflight did to one declared network."""

    label: str
    network_id: str | None
    name: str
    action: NetworkAction
    changes: tuple[Change, ...] = ()
    detail: str = ""

    def check(self) -> Check:
        if self.action == "failed":
            return Check(self.label, "fail", self.detail)
        if self.action == "created":
            return Check(self.label, "pass", "created with the IX layer-2 settings")
        if self.action == "corrected":
            fixed = "; ".join(c.describe() for c in self.changes)
            return Check(self.label, "pass", f"corrected {fixed}")
        return Check(self.label, "pass", "present with the IX layer-2 settings")


@dataclass
class PreflightReport:
    checks: list[Check] = field(default_factory=list)
    controller_address: str | None = None
    controller_version: str | None = None
    networks: list[NetworkOutcome] = field(default_factory=list)
    table_changes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return first_failure(self.checks) is None

    @property
    def failed_check(self) -> Check | None:
        return first_failure(self.checks)

    @property
    def changed(self) -> bool:
        return bool(self.table_changes) or any(
            n.action in ("created", "corrected") for n in self.networks
        )


def reconcile_network(
    controller: ControllerProvider, conf: NetworkConfig, address: str
) -> NetworkOutcome:
    """Create the declared network when missing (under its own ID: only this controller's
    prefix is accepted), or set back exactly the layer-2 fields that drifted; read back."""
    nwid = conf.network_id(address)
    assert nwid is not None
    label = _network_label(conf, address)

    def failed(detail: str) -> NetworkOutcome:
        return NetworkOutcome(label, nwid, conf.name, "failed", detail=detail)

    if not nwid.startswith(address):
        return failed(_foreign(nwid, address))
    desired = layer2.desired_network(conf)
    try:
        try:
            actual: dict[str, Any] | None = controller.get_network(nwid)
        except ProviderNotFound:
            actual = None
        if actual is None:
            # POST /controller/network/{nwid} creates a network under this exact ID.
            readback = controller.set_network(nwid, desired)
            left = layer2.drift(readback, desired)
            if left:
                return failed(f"created, but read back different: {_describe(left)}")
            return NetworkOutcome(label, nwid, conf.name, "created")
        changes = layer2.drift(actual, desired)
        if not changes:
            return NetworkOutcome(label, nwid, conf.name, "unchanged")
        readback = controller.set_network(nwid, layer2.correction(changes))
        left = layer2.drift(readback, desired)
        if left:
            return failed(f"correction did not stick: {_describe(left)}")
        return NetworkOutcome(label, nwid, conf.name, "corrected", tuple(changes))
    except ProviderError as exc:
        return failed(exc.message)


def audit_network_outcome(
    db: Session, actor: Actor, outcome: NetworkOutcome, *, recreated: bool = False
) -> None:
    """Audit what :func:`reconcile_network` changed. ``recreated``: the network existed
    before (the reconciler found it deleted), so its creation is a re-creation."""
    if outcome.action == "created":
        audit.record(
            db,
            actor,
            "controller.network_recreated" if recreated else "controller.network_created",
            target_type="network",
            target_id=outcome.network_id,
            details={"name": outcome.name, "fields": list(layer2.MANAGED_FIELDS)},
        )
    elif outcome.action == "corrected":
        audit.record(
            db,
            actor,
            "controller.network_corrected",
            target_type="network",
            target_id=outcome.network_id,
            details={"changes": [c.as_dict() for c in outcome.changes]},
        )


def _describe(changes: Iterable[Change]) -> str:
    return "; ".join(c.describe() for c in changes)


def preflight(
    settings: Settings, database: Database, controller: ControllerProvider, actor: Actor = CLI
) -> PreflightReport:
    """Check the controller, make every declared network exist with the IX layer-2 settings
    (creating or correcting it, each change reported), then sync the networks table.

    Idempotent: a second run reports no changes. The table is synced whenever the
    controller's address is known, even if a network check failed: it records what is
    declared, and ``serve`` syncs fully-specified networks at start anyway.
    """
    report = PreflightReport()
    status, checks = _status_checks(controller)
    report.checks.extend(checks)
    if status is not None:
        report.controller_address, report.controller_version = status.address, status.version
        ctrl = _controller_check(controller)
        report.checks.append(ctrl)
        if ctrl.ok:
            for conf in settings.networks:
                outcome = reconcile_network(controller, conf, status.address)
                report.networks.append(outcome)
                report.checks.append(outcome.check())
    with database.session() as db:
        if status is not None and _controller_ready(report):
            report.table_changes = sync_networks(db, actor, settings.networks, status.address)
            report.checks.append(
                Check("networks table", "pass", "; ".join(report.table_changes) or "in sync")
            )
        for outcome in report.networks:
            audit_network_outcome(db, actor, outcome)
        audit.record(
            db,
            actor,
            "controller.preflight",
            target_type="controller",
            target_id=report.controller_address,
            details={
                "ok": report.ok,
                "version": report.controller_version,
                "checks": [c.as_dict() for c in report.checks],
            },
        )
    log.info("controller preflight: %s", "passed" if report.ok else "FAILED")
    return report


def _controller_ready(report: PreflightReport) -> bool:
    return all(c.ok for c in report.checks if c.name in ("status", "controller"))


# -- token ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenReloadReport:
    ok: bool
    token_file: str | None
    detail: str


def reload_token(
    controller: ControllerProvider,
    actor: Actor,
    database: Database,
    *,
    token_file: Path | None = None,
) -> TokenReloadReport:
    """Re-read the token file, check the new token against ``GET /status``, swap it in
    (:meth:`ControllerProvider.reload_token`).

    On failure the old token stays in use. Neither the token nor any part of it is logged
    or audited; only the file's path (``token_file``, for the report) is.
    """
    file_name = None if token_file is None else str(token_file)
    try:
        controller.reload_token()
        report = TokenReloadReport(True, file_name, "new token accepted by the controller")
    except ProviderError as exc:
        report = TokenReloadReport(
            False, file_name, f"{exc.message}; the previous token stays in use"
        )
    with database.session() as db:
        audit.record(
            db,
            actor,
            "controller.token_reloaded" if report.ok else "controller.token_reload_failed",
            target_type="controller",
            details={"token_file": file_name, "detail": report.detail},
        )
    return report


def _audit_failure(database: Database, actor: Actor, action: str, exc: ProviderError) -> None:
    with database.session() as db:
        audit.record(
            db,
            actor,
            action,
            target_type="controller",
            details={"code": exc.code, "system": exc.system, "message": exc.message[:500]},
        )


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


class ArchiveError(Exception):
    """The file is not a ZT-IX controller backup, or is damaged."""


def read_archive(path: Path) -> Archive:
    """Read an archive without extracting it: only regular files with expected names count,
    so a crafted archive cannot write outside the controller's home."""
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


@dataclass
class BackupReport:
    path: Path
    size_bytes: int
    controller_address: str
    controller_version: str
    networks: int
    members: int
    files_included: bool
    file_count: int = 0
    warnings: list[str] = field(default_factory=list)
    deleted: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.warnings


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
        for name in _IDENTITY_FILES:
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
    settings: Settings,
    controller: ControllerProvider,
    dest_dir: Path,
    keep: int,
    actor: Actor,
    database: Database,
) -> BackupReport:
    """Write an archive to ``dest_dir`` (mode 0600) and keep only the newest ``keep``.

    When ``home_dir`` is configured but cannot be read the archive is still written (its
    logical part is complete) but the report carries a warning and old archives are kept:
    they may be the only ones holding the identity.
    """
    if keep < 1:
        raise ValueError("keep must be at least 1")
    try:
        status = controller.status()
        logical, member_count = _export(controller, status)
    except ProviderError as exc:
        _audit_failure(database, actor, "controller.backup_failed", exc)
        raise
    home = settings.zerotier.controller.home_dir
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
    with database.session() as db:
        audit.record(
            db,
            actor,
            "controller.backup",
            target_type="controller",
            target_id=status.address,
            details={
                "archive": str(final),
                "size_bytes": report.size_bytes,
                "networks": report.networks,
                "members": report.members,
                "files_included": report.files_included,
                "deleted": [p.name for p in deleted],
                "warnings": warnings,
            },
        )
    return report


# -- restore -------------------------------------------------------------------------------------

RestoreMode = Literal["logical", "files"]


@dataclass
class RestoreReport:
    mode: RestoreMode
    archive: Path
    refused: str | None = None
    networks: int = 0
    members: int = 0
    files: int = 0
    mismatches: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.refused is None and not self.mismatches


def controller_answers(url: str, timeout: float = 2.0) -> bool:
    """Whether anything answers HTTP on the controller's URL. Any answer counts, 401 too:
    it means a controller process runs and may rewrite its files at any moment."""
    try:
        with httpx.Client(timeout=timeout) as client:
            client.get(url.rstrip("/") + "/status")
    except httpx.HTTPError:
        return False
    return True


def _restore_files(settings: Settings, archive: Archive, report: RestoreReport) -> None:
    home = settings.zerotier.controller.home_dir
    url = settings.zerotier.controller.url
    if home is None:
        report.refused = "zerotier.controller.home_dir is not set: nowhere to restore files to"
        return
    if not archive.files:
        report.refused = "the archive holds no file snapshot (it was made without home_dir)"
        return
    if "identity.secret" not in archive.files:
        report.refused = "the archive's file snapshot lacks identity.secret"
        return
    if controller_answers(url, settings.zerotier.controller.timeout_seconds):
        report.refused = (
            f"the controller at {url} is answering: stop it first (it rewrites controller.d "
            "while it runs and would overwrite the restored files), then restore again"
        )
        return
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    home.mkdir(parents=True, exist_ok=True)
    # Keep what was there: restoring the wrong archive must not destroy the only identity.
    db_dir = home / "controller.d"
    if db_dir.exists():
        aside = home / f"controller.d.pre-restore-{stamp}"
        db_dir.rename(aside)
        report.notes.append(f"previous controller.d moved to {aside}")
    for name in _IDENTITY_FILES:
        current = home / name
        if current.exists() and current.read_bytes() != archive.files.get(name):
            aside = home / f"{name}.pre-restore-{stamp}"
            current.rename(aside)
            report.notes.append(f"previous {name} moved to {aside}")
    for name, data in sorted(archive.files.items()):
        path = home / name
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = 0o600 if name == "identity.secret" else 0o644
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        path.chmod(mode)
        if path.read_bytes() != data:
            report.mismatches.append(f"{name}: read back different from the archive")
    report.files = len(archive.files)
    report.networks = sum(
        1 for n in archive.files if n.count("/") == 2 and n.startswith("controller.d/network/")
    )
    report.members = sum(1 for n in archive.files if "/member/" in n)
    report.notes.append("files are owned by the restoring user: fix ownership if needed")


def _body(source: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    return {k: source[k] for k in fields if k in source}


def _compare_fields(
    what: str, sent: dict[str, Any], got: dict[str, Any], report_to: list[str]
) -> None:
    for key, value in sent.items():
        want, have = layer2.normalize(key, value), layer2.normalize(key, got.get(key))
        if key == "ipAssignments" and isinstance(value, list) and isinstance(got.get(key), list):
            want, have = _addresses(value), _addresses(got[key])
        if json.dumps(want, sort_keys=True, default=str) != json.dumps(
            have, sort_keys=True, default=str
        ):
            report_to.append(f"{what}: {key} read back {got.get(key)!r}, archive has {value!r}")


def _restore_logical(
    controller: ControllerProvider,
    archive: Archive,
    report: RestoreReport,
    *,
    require_own_prefix: bool = True,
) -> None:
    status = controller.status()
    networks = archive.networks()
    if require_own_prefix:
        foreign = [
            str(n.get("id")) for n in networks if not str(n.get("id")).startswith(status.address)
        ]
        if foreign:
            report.refused = (
                f"the archive's networks {', '.join(foreign)} were made by controller "
                f"{archive.address or foreign[0][:10]}; this controller is {status.address}. "
                "A controller serves only networks whose ID starts with its own address: "
                "restore the identity with a file restore (--mode files) instead"
            )
            return
    for entry in networks:
        nwid = str(entry.get("id"))
        source = entry.get("network")
        if not isinstance(source, dict):
            report.mismatches.append(f"network {nwid}: no network object in the archive")
            continue
        body = _body(source, NETWORK_FIELDS)
        got = controller.set_network(nwid, body)
        _compare_fields(f"network {nwid}", body, got, report.mismatches)
        report.networks += 1
        for member in entry.get("members", []):
            if not isinstance(member, dict) or not isinstance(member.get("id"), str):
                report.mismatches.append(f"network {nwid}: a member without an ID")
                continue
            node_id = member["id"]
            mbody = _body(member, MEMBER_FIELDS)
            mgot = controller.set_member_raw(nwid, node_id, mbody)
            _compare_fields(f"member {node_id} of {nwid}", mbody, mgot, report.mismatches)
            report.members += 1


def restore(
    settings: Settings,
    controller: ControllerProvider | None,
    archive_path: Path,
    mode: RestoreMode,
    actor: Actor,
    database: Database,
) -> RestoreReport:
    """Restore an archive: ``files`` into ``home_dir`` with the controller stopped, or
    ``logical`` through the API of a running controller (``controller`` required).

    A file restore probes ``zerotier.controller.url`` to tell whether the controller runs:
    the URL must be that of the controller whose home is ``home_dir``. What the home held
    before is moved aside (``*.pre-restore-<timestamp>``), never deleted.
    """
    report = RestoreReport(mode=mode, archive=archive_path)
    try:
        archive = read_archive(archive_path)
        if mode == "files":
            _restore_files(settings, archive, report)
        elif controller is None:
            report.refused = "a logical restore needs a reachable controller"
        else:
            _restore_logical(controller, archive, report)
    except ArchiveError as exc:
        report.refused = str(exc)
    except ProviderError as exc:
        report.mismatches.append(f"controller call failed: {exc.message}")
    except OSError as exc:
        report.mismatches.append(f"cannot write {exc.filename}: {exc.strerror}")
    log.info("controller restore (%s) from %s: %s", mode, archive_path, report.ok)
    with database.session() as db:
        audit.record(
            db,
            actor,
            "controller.restore",
            target_type="controller",
            details={
                "mode": mode,
                "archive": str(archive_path),
                "ok": report.ok,
                "refused": report.refused,
                "networks": report.networks,
                "members": report.members,
                "files": report.files,
                "mismatches": report.mismatches[:50],
            },
        )
    return report


# -- comparing the controller with the database ---------------------------------------------------

DifferenceKind = Literal[
    "missing_network",
    "network_setting",
    "missing_member",
    "unauthorized_member",
    "wrong_addresses",
    "unknown_member",
]


@dataclass(frozen=True)
class Difference:
    """One way the controller (or an archive) and ZT-IX's database disagree."""

    kind: DifferenceKind
    network_id: str
    node_id: str | None
    detail: str

    def describe(self) -> str:
        where = self.network_id + (f" member {self.node_id}" if self.node_id else "")
        return f"{self.kind}: {where}: {self.detail}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "network_id": self.network_id,
            "node_id": self.node_id,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class MemberState:
    authorized: bool
    addresses: frozenset[str]


# Network ID -> its members, or None when the network does not exist.
View = dict[str, dict[str, MemberState] | None]


@dataclass(frozen=True)
class Expected:
    """What the database says: active members with their addresses, and who else it knows."""

    networks: frozenset[str]
    active: dict[tuple[str, str], frozenset[str]]  # (network, node) -> addresses
    in_flight: frozenset[tuple[str, str]]
    other_status: dict[tuple[str, str], str]  # latest status of any other request


def _addresses(values: Iterable[Any]) -> frozenset[str]:
    out = set()
    for value in values:
        try:
            out.add(ipaddress.ip_address(str(value)).compressed)
        except ValueError:
            out.add(str(value))
    return frozenset(out)


def expected_memberships(database: Database) -> Expected:
    """The database's side of a comparison. Plain columns, not ORM objects: this reads every
    request ever made (closed ones name the reason a member is unknown)."""
    active_status = RequestStatus.ACTIVE.value
    with database.read_session() as db:
        active_nets = set(db.scalars(select(IxNetwork.zt_network_id).where(IxNetwork.is_active)))
        assigned: dict[Any, set[str]] = {}
        for request_id, address in db.execute(
            select(AddressAssignment.request_id, AddressAssignment.address)
            .join(JoinRequest, AddressAssignment.request_id == JoinRequest.id)
            .where(JoinRequest.status == active_status)
        ):
            assigned.setdefault(request_id, set()).add(address)
        active: dict[tuple[str, str], frozenset[str]] = {}
        in_flight: set[tuple[str, str]] = set()
        other: dict[tuple[str, str], str] = {}
        rows = db.execute(
            select(IxNetwork.zt_network_id, JoinRequest.node_id, JoinRequest.status, JoinRequest.id)
            .join(IxNetwork, JoinRequest.network_id == IxNetwork.id)
            .order_by(JoinRequest.created_at)
        )
        for nwid, node_id, status_text, request_id in rows:
            key, status = (nwid, node_id), RequestStatus(status_text)
            if status is RequestStatus.ACTIVE:
                active[key] = _addresses(assigned.get(request_id, ()))
            elif status in IN_FLIGHT:
                in_flight.add(key)
            else:
                other[key] = status.value  # the latest request wins
    networks = frozenset(active_nets | {nwid for nwid, _ in active})
    return Expected(networks, active, frozenset(in_flight), other)


def compare(
    expected: Expected, view: View, known_extra_nodes: Set[str] = frozenset()
) -> list[Difference]:
    """Every difference between the database's active memberships and ``view``."""
    diffs: list[Difference] = []
    for nwid in sorted(expected.networks):
        members = view.get(nwid)
        wanted = {node: addrs for (net, node), addrs in expected.active.items() if net == nwid}
        if members is None:
            diffs.append(Difference("missing_network", nwid, None, "the network does not exist"))
            members = {}
        for node, addrs in sorted(wanted.items()):
            state = members.get(node)
            if state is None:
                diffs.append(
                    Difference("missing_member", nwid, node, "active in ZT-IX, no such member")
                )
            elif not state.authorized:
                diffs.append(
                    Difference("unauthorized_member", nwid, node, "active in ZT-IX, not authorized")
                )
            elif state.addresses != addrs:
                diffs.append(
                    Difference(
                        "wrong_addresses",
                        nwid,
                        node,
                        f"has {sorted(state.addresses)}, ZT-IX assigned {sorted(addrs)}",
                    )
                )
        for node, state in sorted(members.items()):
            key = (nwid, node)
            if (
                not state.authorized
                or node in wanted
                or key in expected.in_flight
                or node in known_extra_nodes
            ):
                continue
            status = expected.other_status.get(key)
            why = f"its request is {status}" if status else "ZT-IX has no request for it"
            diffs.append(Difference("unknown_member", nwid, node, f"authorized, but {why}"))
    return diffs


def read_view(controller: ControllerProvider, network_ids: Iterable[str]) -> tuple[View, int]:
    """The members (authorization and addresses) of each network, and how many were read."""
    view: View = {}
    count = 0
    for nwid in network_ids:
        try:
            node_ids = controller.list_members(nwid)
        except ProviderNotFound:
            view[nwid] = None
            continue
        members: dict[str, MemberState] = {}
        for node in sorted(node_ids):
            raw = controller.get_member_raw(nwid, node)
            if raw is None:
                continue
            ips = raw.get("ipAssignments")
            members[node] = MemberState(
                authorized=raw.get("authorized") is True,
                addresses=_addresses(ips if isinstance(ips, list) else []),
            )
        count += len(members)
        view[nwid] = members
    return view, count


# -- drift ----------------------------------------------------------------------------------------


@dataclass
class DriftReport:
    differences: list[Difference]
    networks_checked: int
    members_checked: int

    @property
    def ok(self) -> bool:
        return not self.differences


def network_settings_drift(settings: Settings, controller: ControllerProvider) -> list[Difference]:
    """One ``network_setting`` difference per managed layer-2 field that differs on a
    declared network of this controller (a missing one is the members' comparison's
    ``missing_network``; a foreign prefix is preflight's to refuse)."""
    address = controller.status().address
    out: list[Difference] = []
    for conf in settings.networks:
        nwid = conf.network_id(address)
        if nwid is None or not nwid.startswith(address):
            continue
        try:
            actual = controller.get_network(nwid)
        except ProviderNotFound:
            continue
        for change in layer2.drift(actual, layer2.desired_network(conf)):
            out.append(Difference("network_setting", nwid, None, change.describe()))
    return out


def drift(
    settings: Settings,
    database: Database,
    controller: ControllerProvider,
    known_extra_nodes: Set[str] = frozenset(),
    actor: Actor = CLI,
) -> DriftReport:
    """Declared networks whose layer-2 settings differ from desired (``network_setting``,
    one per field), members authorized on the controller that ZT-IX does not know, and
    active ZT-IX members the controller lacks, has deauthorized, or gives other addresses.

    Only ZT-IX's networks are looked at (active ones, and any with active members). Members
    of in-flight requests (approved, provisioning, deprovisioning) are skipped: a job is
    moving them. ``known_extra_nodes`` (route servers) are never "unknown". Read-only on the
    controller; raises :class:`ProviderError` when it cannot be read."""
    expected = expected_memberships(database)
    try:
        settings_drift = network_settings_drift(settings, controller)
        view, member_count = read_view(controller, sorted(expected.networks))
    except ProviderError as exc:
        _audit_failure(database, actor, "controller.drift_failed", exc)
        raise
    differences = settings_drift + compare(expected, view, known_extra_nodes)
    report = DriftReport(differences, len(view), member_count)
    with database.session() as db:
        audit.record(
            db,
            actor,
            "controller.drift",
            target_type="controller",
            details={
                "ok": report.ok,
                "networks": report.networks_checked,
                "members": report.members_checked,
                "differences": [d.as_dict() for d in report.differences[:100]],
            },
        )
    return report


# -- restore-validate -----------------------------------------------------------------------------


@dataclass
class PartValidation:
    """One part of an archive (logical export or file snapshot) restored and compared."""

    source: Literal["logical", "files"]
    address: str
    networks: int
    members: int
    differences: list[Difference] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences and not self.problems


@dataclass
class ValidationReport:
    archive: Path
    parts: list[PartValidation] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.parts) and all(p.ok for p in self.parts)


@contextlib.contextmanager
def _scratch(home: Path) -> Iterator[ControllerProvider]:
    """A throw-away emulator on loopback with its state in ``home``, and a client for it."""
    emulator = ControllerEmulator(home, "127.0.0.1", 0)
    emulator.start()
    try:
        settings = ControllerSettings(url=emulator.url, token=emulator.token, timeout_seconds=10)
        with ControllerProvider(settings) as client:
            yield client
    finally:
        emulator.stop()


def _validate_part(
    source: Literal["logical", "files"],
    archive: Archive,
    expected: Expected,
    known_extra_nodes: Set[str],
    workdir: Path,
) -> PartValidation:
    home = workdir / source
    home.mkdir(mode=0o700)
    if source == "files":
        # The emulator loads controller.d and the identity at start, as zerotier-one does.
        for name, data in archive.files.items():
            path = home / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    with _scratch(home) as scratch:
        # The logical part names the controller it came from; the file snapshot must bring
        # that same identity back.
        address = archive.address if source == "logical" else scratch.status().address
        part = PartValidation(source, address, 0, 0)
        if source == "logical":
            # The scratch controller has its own address: the prefix rule cannot hold here.
            restored = RestoreReport(mode="logical", archive=Path())
            _restore_logical(scratch, archive, restored, require_own_prefix=False)
            part.problems.extend(restored.mismatches)
        elif archive.address and part.address != archive.address:
            part.problems.append(
                f"the snapshot's identity is {part.address}, the export says {archive.address}"
            )
        part.networks = len(scratch.list_networks())
        view, part.members = read_view(scratch, sorted(expected.networks))
        part.differences = compare(expected, view, known_extra_nodes)
    return part


def restore_validate(
    archive_path: Path,
    database: Database,
    *,
    known_extra_nodes: Set[str] = frozenset(),
    actor: Actor = CLI,
) -> ValidationReport:
    """Restore the archive into scratch emulators (the logical export, and the file
    snapshot when present) and compare each with the database's active memberships: every
    active member authorized with exactly its addresses, every active network present, and
    no authorized member ZT-IX does not know. ``ok`` only when no part differs."""
    report = ValidationReport(archive_path)
    try:
        archive = read_archive(archive_path)
        expected = expected_memberships(database)
        with tempfile.TemporaryDirectory(prefix="ztix-restore-validate-") as tmp:
            workdir = Path(tmp)
            report.parts.append(
                _validate_part("logical", archive, expected, known_extra_nodes, workdir)
            )
            if archive.files:
                report.parts.append(
                    _validate_part("files", archive, expected, known_extra_nodes, workdir)
                )
    except (ArchiveError, ProviderError, OSError, ValueError) as exc:
        report.error = exc.message if isinstance(exc, ProviderError) else str(exc)
    with database.session() as db:
        audit.record(
            db,
            actor,
            "controller.restore_validated",
            target_type="controller",
            details={
                "archive": str(archive_path),
                "ok": report.ok,
                "error": report.error,
                "parts": [
                    {
                        "source": p.source,
                        "address": p.address,
                        "networks": p.networks,
                        "members": p.members,
                        "differences": [d.as_dict() for d in p.differences[:100]],
                        "problems": p.problems[:50],
                    }
                    for p in report.parts
                ],
            },
        )
    return report
