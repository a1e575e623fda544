"""The root of the settings: every section, and the checks that span sections."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ztix.config.auth import AuthConfig, PeeringDBConfig
from ztix.config.base import EnvWithoutSecretFiles
from ztix.config.directory import DirectoryConfig
from ztix.config.irr import IrrConfig
from ztix.config.jobs import JobsConfig
from ztix.config.networks import NetworkConfig
from ztix.config.notifications import NotificationsConfig
from ztix.config.peeringdb import PeeringDBApiConfig
from ztix.config.policy import PolicyConfig, WorkflowConfig
from ztix.config.routeservers import RouteServerConfig, RouteServersConfig
from ztix.config.server import DatabaseConfig, IxfConfig, LoggingConfig, ServerConfig
from ztix.config.zerotier import ZeroTierConfig

DEFAULT_DATABASE_URL = "sqlite:///var/ztix.sqlite3"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Everything ZT-IX is configured with. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="ZTIX_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        populate_by_name=True,
    )

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = Field(
        DEFAULT_DATABASE_URL, validation_alias=AliasChoices("DATABASE_URL", "database_url")
    )
    database: DatabaseConfig = DatabaseConfig()
    server: ServerConfig = ServerConfig()
    auth: AuthConfig = AuthConfig()
    peeringdb: PeeringDBConfig = PeeringDBConfig()
    workflow: WorkflowConfig = WorkflowConfig()
    policy: PolicyConfig = PolicyConfig()
    networks: tuple[NetworkConfig, ...] = ()
    zerotier: ZeroTierConfig = ZeroTierConfig()
    jobs: JobsConfig = JobsConfig()
    routeservers: RouteServersConfig = RouteServersConfig()
    peeringdb_api: PeeringDBApiConfig = PeeringDBApiConfig()
    logging: LoggingConfig = LoggingConfig()
    ixf: IxfConfig = IxfConfig()
    irr: IrrConfig = IrrConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    directory: DirectoryConfig = DirectoryConfig()

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        seen: set[str] = set()
        for net in self.networks:
            # Full IDs against full IDs, suffixes against suffixes: whether a suffix and a
            # full ID name the same network depends on the controller's address.
            key = net.zt_network_id or f"suffix {net.suffix}"
            if key in seen:
                raise ValueError(f"network {key} is declared twice")
            seen.add(key)
        names = [rs.name for rs in self.routeservers.servers]
        if len(names) != len(set(names)):
            raise ValueError("route server names must be unique")
        for rs in self.routeservers.servers:
            served = self.find_network(rs.network)
            if served is None:
                raise ValueError(f"route server {rs.name}: no declared network {rs.network}")
            if rs.ipv4 not in served.ipv4_prefix or rs.ipv6 not in served.ipv6_prefix:
                raise ValueError(
                    f"route server {rs.name}: addresses outside {served.name}'s prefixes"
                )
            if rs.transport == "ssh" and not (rs.host and rs.host_key and rs.private_key_file):
                raise ValueError(
                    f"route server {rs.name}: ssh needs host, host_key and private_key_file"
                )
        if self.environment is Environment.PRODUCTION and self.cookie_secure is False:
            raise ValueError("auth.cookie_secure cannot be false in production")
        return self

    @property
    def database_pool_size(self) -> int:
        """Connections the API process keeps: one per HTTP thread, one per in-process job
        thread, and two for the reconciler and the readiness check."""
        jobs = self.jobs.worker_threads if self.jobs.runner == "inprocess" else 0
        return self.server.threads + jobs + 2

    def find_network(self, ref: str) -> NetworkConfig | None:
        """A declared network by full ID (16 hex) or by suffix (6 hex)."""
        ref = ref.lower()
        if len(ref) == 16:
            return self.network_config(ref)
        return next((n for n in self.networks if n.id_suffix == ref), None)

    def route_servers_of(
        self, zt_network_id: str, *, enabled_only: bool = True
    ) -> list[RouteServerConfig]:
        """The route servers serving a network (by its full ID), in pair order."""
        servers = [
            rs
            for rs in self.routeservers.servers
            if (rs.enabled or not enabled_only)
            and (net := self.find_network(rs.network)) is not None
            and net.network_id(zt_network_id[:10]) == zt_network_id
        ]
        return sorted(servers, key=lambda rs: (rs.pair_order, rs.name))

    def reserved_node(self, node_id: str) -> str | None:
        """Why a node may not be requested (a route server's, or listed in
        ``workflow.reserved_node_ids``), or None when a member may ask for it."""
        node_id = node_id.lower()
        for rs in self.routeservers.servers:
            if rs.node_id is not None and rs.node_id.lower() == node_id:
                return f"route server {rs.name}"
        if node_id in self.workflow.reserved_node_ids:
            return "workflow.reserved_node_ids"
        return None

    def network_config(self, zt_network_id: str) -> NetworkConfig | None:
        """The declaration of a network, by full ID or by its suffix."""
        for net in self.networks:
            if net.zt_network_id == zt_network_id or (
                net.zt_network_id is None and zt_network_id[10:] == net.suffix
            ):
                return net
        return None

    @property
    def cookie_secure(self) -> bool:
        if self.auth.cookie_secure is not None:
            return self.auth.cookie_secure
        return self.environment is not Environment.DEVELOPMENT

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Init kwargs carry the YAML document and the *_FILE secrets (see load_settings);
        # the environment overrides both.
        return (EnvWithoutSecretFiles(settings_cls), init_settings)
