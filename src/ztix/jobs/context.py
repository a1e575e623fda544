"""Building the job context from settings: the one place adapters are chosen."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ztix.auth.peeringdb import PeeringDBClient
from ztix.config import Settings
from ztix.db.session import Database
from ztix.jobs.tasks import JobContext
from ztix.peeringdb.api import PeeringDBApi
from ztix.workflow import dispatch
from ztix.workflow.dispatch import Dispatcher
from ztix.workflow.routeserver_desired import enabled_servers
from ztix.workflow.routeservers import gate_for
from ztix.zerotier.central import CentralProvider, CentralSettings
from ztix.zerotier.controller import ControllerProvider, ControllerSettings
from ztix.zerotier.provider import (
    SYSTEM_CONTROLLER,
    Member,
    MemberSpec,
    ProviderUnavailable,
    ZeroTierProvider,
)


def build_controller(settings: Settings) -> ControllerProvider:
    return ControllerProvider(ControllerSettings.from_config(settings.zerotier.controller))


def build_provider(settings: Settings) -> ZeroTierProvider:
    if settings.zerotier.provider == "central":
        return CentralProvider(CentralSettings.from_config(settings.zerotier.central))
    return LazyProvider(lambda: build_controller(settings), SYSTEM_CONTROLLER)


class LazyProvider:
    """A provider made on first use, and made again after a failure to make it.

    The controller's token file may not exist yet when ZT-IX starts (a controller that is
    still coming up, the embedded emulator, a non-strict start-up gate): until it can be
    read, every call fails as *unavailable*, which the job system retries.
    """

    def __init__(self, factory: Callable[[], ZeroTierProvider], system: str) -> None:
        self._factory = factory
        self._provider: ZeroTierProvider | None = None
        self._lock = threading.Lock()
        self.system = system

    def _get(self) -> ZeroTierProvider:
        with self._lock:
            if self._provider is None:
                try:
                    self._provider = self._factory()
                except (OSError, ValueError) as exc:
                    raise ProviderUnavailable(
                        f"cannot set up the ZeroTier client: {exc}", system=self.system
                    ) from exc
            return self._provider

    def _call(self, method: str, *args: Any) -> Any:
        # A refused token is re-read from its file by the controller adapter itself.
        return getattr(self._get(), method)(*args)

    def controller(self) -> ControllerProvider | None:
        """The self-hosted controller's adapter, for network-level calls (the reconciler)."""
        provider = self._get()
        return provider if isinstance(provider, ControllerProvider) else None

    def ensure_member(self, spec: MemberSpec) -> Member:
        member: Member = self._call("ensure_member", spec)
        return member

    def get_member(self, network_id: str, node_id: str) -> Member | None:
        member: Member | None = self._call("get_member", network_id, node_id)
        return member

    def list_members(self, network_id: str) -> dict[str, int]:
        members: dict[str, int] = self._call("list_members", network_id)
        return members

    def deauthorize_member(self, network_id: str, node_id: str) -> Member | None:
        member: Member | None = self._call("deauthorize_member", network_id, node_id)
        return member

    def delete_member(self, network_id: str, node_id: str) -> None:
        self._call("delete_member", network_id, node_id)

    def close(self) -> None:
        with self._lock:
            if self._provider is not None:
                self._provider.close()
                self._provider = None


def build_context(
    settings: Settings, dispatcher: Dispatcher, database: Database | None = None
) -> JobContext:
    if database is None:
        # A worker's own database: work its jobs ask for after commit goes to `dispatcher`.
        # (An app's database already has its dispatcher installed by create_app.)
        database = Database(settings.database_url)
        dispatch.install(database.sessionmaker, dispatcher)
    ctx = JobContext(
        settings=settings,
        database=database,
        provider=build_provider(settings),
        dispatcher=dispatcher,
    )
    if enabled_servers(settings):
        ctx.gate = gate_for(settings)
        ctx.peeringdb = PeeringDBApi(settings.peeringdb_api)
    pdb = settings.peeringdb
    if pdb.enabled and pdb.client_id and pdb.recheck_interval_hours > 0:
        ctx.oidc = PeeringDBClient(pdb)
    return ctx
