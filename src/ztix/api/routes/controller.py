"""The admin's view of the self-hosted ZeroTier controller: readiness, the IX networks with
their layer-2 settings, membership drift, and the last backup.

Read-only and cheap: the answer is cached for a few seconds (the web app polls it), drift is
computed without writing an audit event (``ztix controller drift`` is the audited command),
and an unreachable controller is an answer (``ready: false`` with the failed check), not a
server error.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Request

from ztix.api.deps import AdminUser, Csrf, DatabaseRoute, DbSession, SettingsDep
from ztix.api.problems import responses
from ztix.api.schemas.controller import (
    BackupOut,
    BackupsOut,
    ChangeOut,
    CheckOut,
    ControllerOut,
    DifferenceOut,
    Layer2Out,
    MembershipDriftOut,
    NetworkStateOut,
)
from ztix.config import NetworkConfig, Settings
from ztix.db.session import Database
from ztix.domain.controller import first_failure
from ztix.workflow.controller import check_ready, expected_memberships
from ztix.zerotier import layer2
from ztix.zerotier.archive import ARCHIVE_PREFIX, list_archives
from ztix.zerotier.controller import ControllerProvider, ControllerSettings, NodeStatus
from ztix.zerotier.drift import compare, read_view
from ztix.zerotier.provider import ProviderError, ProviderNotFound

router = APIRouter(
    route_class=DatabaseRoute, prefix="/api/v1/admin", tags=["admin"], dependencies=[Csrf]
)

AUTH = ("not_authenticated", "session_expired", "account_disabled", "admin_required")
CACHE_SECONDS = 5.0
# A polled status page must not hang on a controller that does not answer.
MAX_TIMEOUT_SECONDS = 3.0
# Where `ztix controller backup` writes by default (relative to the working directory);
# an app may point elsewhere with app.state.controller_backup_dir.
DEFAULT_BACKUP_DIR = Path("var/backups")


_cache: dict[int, tuple[float, ControllerOut]] = {}
_lock = threading.Lock()


@router.get("/controller", response_model=ControllerOut, responses=responses(*AUTH))
def controller_state(
    request: Request, db: DbSession, _admin: AdminUser, settings: SettingsDep
) -> ControllerOut:
    """Readiness checks, the IX networks with their layer-2 settings and drift, members that
    differ from ZT-IX's records, and the last backup. Cached for a few seconds; an
    unreachable controller answers ``ready: false`` naming the failed check."""
    # No connection is held while the controller answers: end the request's transaction
    # before the controller calls, and before drift opens a session of its own.
    db.rollback()
    key = id(request.app)
    now = time.monotonic()
    with _lock:
        cached = _cache.get(key)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
    database: Database = request.app.state.database
    backup_dir = Path(getattr(request.app.state, "controller_backup_dir", DEFAULT_BACKUP_DIR))
    state = read_state(settings, database, backup_dir)
    with _lock:
        _cache[key] = (time.monotonic(), state)
    return state


def forget() -> None:
    """Drop cached answers (tests)."""
    with _lock:
        _cache.clear()


def read_state(settings: Settings, database: Database, backup_dir: Path) -> ControllerOut:
    backups = _backups(backup_dir)
    now = datetime.now(UTC)
    if settings.zerotier.provider != "controller":
        return _nothing_read(
            "central",
            now,
            backups,
            ready=True,
            summary="ZeroTier Central hosts the networks: there is no self-hosted controller",
        )
    conf = ControllerSettings.from_config(settings.zerotier.controller)
    conf = conf.model_copy(
        update={"timeout_seconds": min(conf.timeout_seconds, MAX_TIMEOUT_SECONDS)}
    )
    out = _nothing_read("controller", now, backups, ready=False, summary="", url=conf.url)
    try:
        controller = ControllerProvider(conf)
    except (OSError, ValueError) as exc:
        out.checks = [CheckOut(name="token", status="fail", detail=f"cannot set up: {exc}")]
        out.summary = "ZT-IX cannot talk to the controller: its API token cannot be read"
        out.networks = [_unknown_network(n, None) for n in settings.networks]
        return out
    with controller:
        _fill(out, settings, database, controller)
    return out


def read_networks(settings: Settings) -> list[NetworkStateOut]:
    """The declared networks as the self-hosted controller has them (layer-2 settings and
    drift), without the readiness checks; each network that could not be read says why."""
    if settings.zerotier.provider != "controller":
        why = "ZeroTier Central hosts this network: ZT-IX does not read its settings back"
        return [_unknown_network(n, why) for n in settings.networks]
    conf = ControllerSettings.from_config(settings.zerotier.controller)
    conf = conf.model_copy(
        update={"timeout_seconds": min(conf.timeout_seconds, MAX_TIMEOUT_SECONDS)}
    )
    try:
        controller = ControllerProvider(conf)
    except (OSError, ValueError) as exc:
        return [
            _unknown_network(n, f"cannot talk to the controller: {exc}") for n in settings.networks
        ]
    with controller:
        try:
            address = controller.status().address
        except ProviderError as exc:
            return [_unknown_network(n, exc.message) for n in settings.networks]
        return [_network_state(n, address, controller) for n in settings.networks]


def _nothing_read(
    provider: Literal["controller", "central"],
    now: datetime,
    backups: BackupsOut,
    *,
    ready: bool,
    summary: str,
    url: str | None = None,
) -> ControllerOut:
    """The answer before (or without) anything read from a controller."""
    return ControllerOut(
        provider=provider,
        checked_at=now,
        ready=ready,
        summary=summary,
        url=url,
        address=None,
        version=None,
        online=None,
        checks=[],
        networks=[],
        membership_drift=None,
        backups=backups,
    )


def _fill(
    out: ControllerOut, settings: Settings, database: Database, controller: ControllerProvider
) -> None:
    checks = check_ready(settings, controller)
    out.checks = [CheckOut(name=c.name, status=c.status, detail=c.detail) for c in checks]
    failed = first_failure(checks)
    out.ready = failed is None
    status: NodeStatus | None = None
    try:
        status = controller.status()
    except ProviderError:
        status = None
    if status is not None:
        out.address, out.version, out.online = status.address, status.version, status.online
    if failed is not None:
        out.summary = f"Not ready: {failed.name}: {failed.detail}"
    elif any(c.status == "warn" for c in checks):
        out.summary = "Ready, with warnings worth a look"
    else:
        out.summary = "Ready: the controller answers and every IX network is in shape"
    address = status.address if status else None
    out.networks = [
        _network_state(conf, address, controller) if address else _unknown_network(conf, None)
        for conf in settings.networks
    ]
    if status is None:
        return
    known = frozenset(rs.node_id.lower() for rs in settings.routeservers.servers if rs.node_id)
    try:
        expected = expected_memberships(database)
        view, count = read_view(controller, sorted(expected.networks))
    except ProviderError as exc:
        out.membership_drift_error = exc.message
        return
    differences = compare(expected, view, known)
    out.membership_drift = MembershipDriftOut(
        ok=not differences,
        networks_checked=len(view),
        members_checked=count,
        differences=[DifferenceOut(**d.as_dict()) for d in differences[:200]],
    )


def _unknown_network(conf: NetworkConfig, error: str | None) -> NetworkStateOut:
    return NetworkStateOut(
        name=conf.name,
        zt_network_id=conf.zt_network_id,
        ipv4_prefix=str(conf.ipv4_prefix),
        ipv6_prefix=str(conf.ipv6_prefix),
        present=False,
        members=None,
        layer2=None,
        drift=[],
        error=error,
    )


def _network_state(
    conf: NetworkConfig, address: str, controller: ControllerProvider
) -> NetworkStateOut:
    nwid = conf.network_id(address)
    out = _unknown_network(conf, None)
    out.zt_network_id = nwid
    if nwid is None:
        return out
    try:
        actual = controller.get_network(nwid)
        members = len(controller.list_members(nwid))
    except ProviderNotFound:
        out.error = "missing on the controller: run `ztix controller preflight`"
        return out
    except ProviderError as exc:
        out.error = exc.message
        return out
    out.present, out.members = True, members
    out.layer2 = layer2_out(actual)
    out.drift = [
        ChangeOut(field=c.field, have=c.old, want=c.new)
        for c in layer2.drift(actual, layer2.desired_network(conf))
    ]
    return out


def layer2_out(network: dict[str, Any]) -> Layer2Out:
    """The layer-2 settings of a controller network body (as read, or as desired)."""
    routes = network.get("routes")
    v4 = network.get("v4AssignMode")
    v6 = network.get("v6AssignMode")
    rules = network.get("rules")
    mtu = network.get("mtu")
    private = network.get("private")
    multicast = network.get("multicastLimit")
    rule_list = rules if isinstance(rules, list) else []
    ix_rules = layer2.normalize("rules", layer2.ix_rules())
    ethertypes = (
        ["IPv4 (0x0800)", "ARP (0x0806)", "IPv6 (0x86DD)"]
        if layer2.normalize("rules", rule_list) == ix_rules
        else None
    )
    return Layer2Out(
        private=private if isinstance(private, bool) else None,
        mtu=mtu if isinstance(mtu, int) and not isinstance(mtu, bool) else None,
        multicast_limit=multicast
        if isinstance(multicast, int) and not isinstance(multicast, bool)
        else None,
        routes=[
            f"{r.get('target')}" + (f" via {r['via']}" if r.get("via") else "")
            for r in (routes if isinstance(routes, list) else [])
            if isinstance(r, dict)
        ],
        v4_auto_assign=v4.get("zt") is True if isinstance(v4, dict) else None,
        v6_auto_assign={mode: (v6.get(mode) is True) for mode in ("zt", "rfc4193", "6plane")}
        if isinstance(v6, dict)
        else {},
        ethertypes_allowed=ethertypes,
        rule_count=len(rule_list),
    )


def _backups(directory: Path) -> BackupsOut:
    archives = list_archives(directory)
    last: BackupOut | None = None
    if archives:
        newest = archives[-1]
        stamp = newest.name.removeprefix(ARCHIVE_PREFIX).removesuffix(".tar.gz")
        try:
            created: datetime | None = datetime.strptime(stamp, "%Y%m%dT%H%M%S.%fZ").replace(
                tzinfo=UTC
            )
        except ValueError:
            created = None
        try:
            size = newest.stat().st_size
        except OSError:
            size = 0
        last = BackupOut(name=newest.name, created_at=created, size_bytes=size)
    return BackupsOut(directory=str(directory), count=len(archives), last=last)
