"""Restoring a controller backup archive.

``files`` writes the snapshot into the home directory and refuses while anything answers on
the controller's URL (the controller rewrites its files while it runs); ``logical``
re-creates networks and members through the API and refuses networks whose ID does not
start with the controller's address (a controller stores such a network but never serves it
to members).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from ztix.config import ControllerConfig
from ztix.domain.controller import ArchiveError, RestoreMode, RestoreReport, addresses
from ztix.zerotier import layer2
from ztix.zerotier.archive import IDENTITY_FILES, Archive, read_archive
from ztix.zerotier.controller import ControllerProvider
from ztix.zerotier.provider import ProviderError

log = logging.getLogger(__name__)

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


# -- restore -------------------------------------------------------------------------------------


def controller_answers(url: str, timeout: float = 2.0) -> bool:
    """Whether anything answers HTTP on the controller's URL. Any answer counts, 401 too:
    it means a controller process runs and may rewrite its files at any moment."""
    try:
        with httpx.Client(timeout=timeout) as client:
            client.get(url.rstrip("/") + "/status")
    except httpx.HTTPError:
        return False
    return True


def _restore_files(conf: ControllerConfig, archive: Archive, report: RestoreReport) -> None:
    home = conf.home_dir
    url = conf.url
    if home is None:
        report.refused = "zerotier.controller.home_dir is not set: nowhere to restore files to"
        return
    if not archive.files:
        report.refused = "the archive holds no file snapshot (it was made without home_dir)"
        return
    if "identity.secret" not in archive.files:
        report.refused = "the archive's file snapshot lacks identity.secret"
        return
    if controller_answers(url, conf.timeout_seconds):
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
    for name in IDENTITY_FILES:
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
            want, have = addresses(value), addresses(got[key])
        if json.dumps(want, sort_keys=True, default=str) != json.dumps(
            have, sort_keys=True, default=str
        ):
            report_to.append(f"{what}: {key} read back {got.get(key)!r}, archive has {value!r}")


def restore_logical(
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
    conf: ControllerConfig,
    controller: ControllerProvider | None,
    archive_path: Path,
    mode: RestoreMode,
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
            _restore_files(conf, archive, report)
        elif controller is None:
            report.refused = "a logical restore needs a reachable controller"
        else:
            restore_logical(controller, archive, report)
    except ArchiveError as exc:
        report.refused = str(exc)
    except ProviderError as exc:
        report.mismatches.append(f"controller call failed: {exc.message}")
    except OSError as exc:
        report.mismatches.append(f"cannot write {exc.filename}: {exc.strerror}")
    log.info("controller restore (%s) from %s: %s", mode, archive_path, report.ok)
    return report
