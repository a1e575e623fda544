"""Settings: one YAML runtime config for policy and topology, secrets from the environment.

This is the only module that reads the environment (DESIGN §6). Precedence, highest first:
environment variables (``ZTIX_<SECTION>__<KEY>``, plus ``DATABASE_URL``), ``*_FILE``
variables naming a file that holds a secret, the YAML file named by ``ZTIX_CONFIG``
(default ``runtime-config.yaml`` when it exists), then the defaults below.
A wrong key or value raises :class:`ConfigError` naming the key's path and the reason.
"""

from __future__ import annotations

import ipaddress
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from ztix.domain.identifiers import InvalidIdentifier, normalize_network_id, normalize_node_id
from ztix.domain.policy import AsnRange, parse_asn_range

DEFAULT_CONFIG_FILE = Path("runtime-config.yaml")
DEFAULT_DATABASE_URL = "sqlite:///var/ztix.sqlite3"
PEERINGDB_DISCOVERY_URL = "https://auth.peeringdb.com/oauth2/.well-known/openid-configuration"


class ConfigError(Exception):
    """The configuration cannot be used; the message names each bad key and why."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class ApprovalMode(StrEnum):
    MANUAL_ADMIN = "manual_admin"
    POLICY_AUTO = "policy_auto"


class ServerConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    # Client addresses are taken from X-Forwarded-For only when the direct peer is one of these.
    trusted_proxies: tuple[str, ...] = ()
    # Larger request bodies are refused with 413 payload_too_large (the API takes small JSON).
    max_body_bytes: int = Field(1_048_576, ge=1024)
    # /metrics answers loopback clients; with a token, also `Authorization: Bearer <token>`
    # from anywhere. ZTIX_SERVER__METRICS_TOKEN (or ..._FILE).
    metrics_token: SecretStr = SecretStr("")
    # Threads per HTTP worker process that run handlers and dependencies. A request holds a
    # database connection only while on one of them, so the pool is sized from this
    # (Settings.database_pool_size); requests beyond it wait without a thread or connection.
    threads: int = Field(16, ge=1, le=256)


class RateLimit(Strict):
    """At most ``attempts`` events (failed logins, writes) within ``window_seconds``."""

    attempts: int = Field(ge=1)
    window_seconds: int = Field(ge=1)


class AuthConfig(Strict):
    session_ttl_hours: float = Field(12, gt=0, le=24 * 30)
    session_idle_minutes: float = Field(120, gt=0)
    # None: Secure cookies everywhere but in the development environment.
    cookie_secure: bool | None = None
    cookie_name: str = Field("ztix_session", pattern=r"^[A-Za-z0-9_]+$")
    login_failures_per_username: RateLimit = RateLimit(attempts=5, window_seconds=900)
    login_failures_per_address: RateLimit = RateLimit(attempts=20, window_seconds=900)
    # Each time an address uses up its login limit, its next window is twice as long, up to
    # this many seconds; the doubling is forgotten after twice this without a lockout.
    login_lockout_max_seconds: int = Field(4 * 3600, ge=1)
    # State-changing requests (POST, PUT, PATCH, DELETE), answered 429 `rate_limited` past
    # either limit: per signed-in member (not admins), and per client address (anyone).
    writes_per_user: RateLimit = RateLimit(attempts=60, window_seconds=60)
    writes_per_address: RateLimit = RateLimit(attempts=300, window_seconds=60)
    # Reads (GET, HEAD, OPTIONS), answered 429 `rate_limited` past the limit: per session of a
    # signed-in member (not admins), and per client address for requests without a session.
    reads_per_session: RateLimit = RateLimit(attempts=600, window_seconds=60)
    reads_per_address: RateLimit = RateLimit(attempts=600, window_seconds=60)
    # "memory://" for one process; "redis://host:6379/N" when several API workers run.
    rate_limit_storage: str = "memory://"

    @model_validator(mode="after")
    def _lockout_cap(self) -> AuthConfig:
        if self.login_lockout_max_seconds < self.login_failures_per_address.window_seconds:
            raise ValueError(
                "login_lockout_max_seconds must be at least "
                "login_failures_per_address.window_seconds"
            )
        return self


class DatabaseConfig(Strict):
    """The API process's connection pool: ``server.threads`` + the in-process job threads +
    2 (reconciler, readiness) connections, plus ``max_overflow`` beyond that."""

    max_overflow: int = Field(4, ge=0, le=1000)
    # A request that finds no free connection this long answers 503 `database_busy`.
    pool_timeout_seconds: float = Field(5, gt=0, le=60)


class PeeringDBConfig(Strict):
    enabled: bool = True
    discovery_url: str = PEERINGDB_DISCOVERY_URL
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    # Where PeeringDB sends the browser back: the SPA's /auth/callback page.
    redirect_uri: str = "http://127.0.0.1:8000/auth/callback"
    # An ASN is granted when the network's perms has every bit of this mask
    # (1 read, 2 update, 4 create, 8 delete).
    required_perms: int = Field(2, ge=1, le=15)
    state_ttl_seconds: int = Field(600, ge=30, le=3600)
    # PeeringDB user ids (the `id` claim) that are IX admins.
    admin_user_ids: tuple[int, ...] = ()
    http_timeout_seconds: float = Field(10, gt=0)
    # Accept http:// endpoints (tests and local providers only).
    allow_insecure_http: bool = False
    # Re-read every PeeringDB user's networks this often with their stored token; lost
    # ASNs are revoked. 0 turns the re-check off.
    recheck_interval_hours: float = Field(6, ge=0)
    # Sessions of a PeeringDB user whose networks PeeringDB has not confirmed for this long
    # (no login, no successful re-check) are refused: they log in again.
    recheck_max_age_hours: float = Field(168, gt=0)
    # Fernet keys (comma-separated, `ztix.auth.tokens.generate_key()`) that encrypt stored
    # PeeringDB tokens: the first encrypts, all decrypt (rotation). Empty: no token is
    # stored and users log in again after recheck_max_age_hours.
    token_keys: SecretStr = SecretStr("")

    @field_validator("token_keys")
    @classmethod
    def _fernet_keys(cls, value: SecretStr) -> SecretStr:
        from cryptography.fernet import Fernet

        for key in token_key_list(value):
            try:
                Fernet(key)
            except ValueError:
                raise ValueError(
                    "each key must be 32 url-safe base64-encoded bytes (a Fernet key)"
                ) from None
        return value


def token_key_list(value: SecretStr) -> list[str]:
    """The comma-separated keys of ``peeringdb.token_keys``, newest first."""
    return [k.strip() for k in value.get_secret_value().split(",") if k.strip()]


class WorkflowConfig(Strict):
    approval_mode: ApprovalMode = ApprovalMode.MANUAL_ADMIN
    # Private ASNs are refused at an IX; tests and the embedded demo may allow them.
    allow_private_asns: bool = False
    # ZeroTier nodes no member may request, on any IX network: the IX's own equipment
    # (monitoring probes, looking glasses, the controller's node). Route servers' node_id
    # are reserved without being listed here.
    reserved_node_ids: tuple[str, ...] = ()

    @field_validator("reserved_node_ids")
    @classmethod
    def _node_ids(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        try:
            return tuple(normalize_node_id(v) for v in values)
        except InvalidIdentifier as exc:
            raise ValueError(exc.detail) from exc


# An ASN list entry: one ASN (64500 or "AS64500") or an inclusive range ("64500-64510").
AsnEntry = Annotated[AsnRange, PlainValidator(parse_asn_range), PlainSerializer(str)]


class NetworkConfig(Strict):
    """An IX network. Give ``zt_network_id`` in full, or only its 6-hex ``suffix`` when the
    self-hosted controller owns it: the ID is then the controller's address + suffix,
    learnt at preflight (so a new controller identity keeps the same config)."""

    zt_network_id: str | None = None
    suffix: str | None = Field(None, pattern=r"^[0-9a-fA-F]{6}$")
    name: str = Field(min_length=1, max_length=200)
    ipv4_prefix: ipaddress.IPv4Network
    ipv6_prefix: ipaddress.IPv6Network
    description: str = ""
    # Peering-LAN addresses never handed to members (route servers are added to these).
    reserved_addresses: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...] = ()
    # Eligibility policy: the ASNs that may join this network, on top of policy.allowed_asns
    # (empty: every eligible ASN), and whether an admin approves every request even under
    # policy_auto.
    allowed_asns: tuple[AsnEntry, ...] = ()
    manual_approval: bool = False
    # The network's multicastLimit: how many members a multicast or broadcast frame reaches.
    # 0 would cut ARP and IPv6 neighbour discovery; the reconciler keeps it at this value.
    multicast_limit: int = Field(32, ge=1, le=1_000_000)

    @field_validator("zt_network_id")
    @classmethod
    def _nwid(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalize_network_id(value)
        except InvalidIdentifier as exc:
            raise ValueError(exc.detail) from exc

    @field_validator("suffix")
    @classmethod
    def _lower_suffix(cls, value: str | None) -> str | None:
        return None if value is None else value.lower()

    @property
    def id_suffix(self) -> str:
        """The 6-hex suffix, given or taken from the full network ID."""
        return self.suffix or (self.zt_network_id or "")[10:]

    @model_validator(mode="after")
    def _one_id(self) -> NetworkConfig:
        if (self.zt_network_id is None) == (self.suffix is None):
            raise ValueError("give exactly one of zt_network_id and suffix")
        for address in self.reserved_addresses:
            prefix = self.ipv4_prefix if address.version == 4 else self.ipv6_prefix
            if address not in prefix:
                raise ValueError(f"reserved address {address} is outside {prefix}")
        return self

    def network_id(self, controller_address: str | None) -> str | None:
        """The full network ID, given the controller's address when only a suffix is set."""
        if self.zt_network_id is not None:
            return self.zt_network_id
        if controller_address is None:
            return None
        return controller_address.lower() + (self.suffix or "")

    @field_validator("ipv4_prefix")
    @classmethod
    def _v4_size(cls, value: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
        if value.prefixlen > 30:
            raise ValueError("an IPv4 peering LAN must be /30 or larger")
        return value

    @field_validator("ipv6_prefix")
    @classmethod
    def _v6_size(cls, value: ipaddress.IPv6Network) -> ipaddress.IPv6Network:
        if value.prefixlen > 64:
            raise ValueError("an IPv6 peering LAN must be /64 or larger")
        return value


class ControllerConfig(Strict):
    """A self-hosted zerotier-one controller (1.14.x)."""

    url: str = "http://127.0.0.1:9993"
    # The controller's authtoken.secret. ZTIX_ZEROTIER__CONTROLLER__TOKEN wins over the file.
    token: SecretStr = SecretStr("")
    token_file: Path | None = Path("var/zerotier/authtoken.secret")
    # The controller's home (identity.*, controller.d) when it is on this machine: enables
    # file snapshots in backups and file restores.
    home_dir: Path | None = None
    timeout_seconds: float = Field(10, gt=0)
    # Run the bundled controller emulator inside `ztix serve` (embedded default, demos).
    embedded_emulator: bool = False
    emulator_home: Path = Path("var/zerotier")


class CentralConfig(Strict):
    """ZeroTier Central (hosted controller)."""

    url: str = "https://api.zerotier.com/api/v1"
    token: SecretStr = SecretStr("")
    timeout_seconds: float = Field(10, gt=0)


class StartupGate(StrEnum):
    STRICT = "strict"
    NON_STRICT = "non_strict"


class ZeroTierConfig(Strict):
    provider: Literal["controller", "central"] = "controller"
    controller: ControllerConfig = ControllerConfig()
    central: CentralConfig = CentralConfig()
    # Leaving deauthorizes a member and removes its addresses; true also deletes it.
    delete_member_on_leave: bool = False
    # strict: serve and worker refuse to start unless the controller preflight passes.
    # non_strict: start anyway; readiness says not ready and provisioning waits.
    startup_gate: StartupGate = StartupGate.NON_STRICT


class RetryConfig(Strict):
    """Exponential back-off with jitter for retryable failures."""

    base_seconds: float = Field(2, gt=0)
    cap_seconds: float = Field(300, gt=0)
    max_attempts: int = Field(8, ge=1, le=100)


class JobsConfig(Strict):
    # inprocess: a thread pool inside `ztix serve` (embedded default, no Redis).
    # celery: Celery workers on Redis (`ztix worker`); the API only enqueues.
    runner: Literal["inprocess", "celery"] = "inprocess"
    broker_url: str = "redis://127.0.0.1:6379/0"
    # The reconciler re-dispatches lost work and repairs drift this often.
    reconcile_interval_seconds: float = Field(30, gt=0)
    # A worker holds a request this long; past it, another may take the request over.
    lease_seconds: float = Field(120, gt=0)
    worker_threads: int = Field(4, ge=1, le=64)
    retry: RetryConfig = RetryConfig()
    # `ztix worker` serves Prometheus metrics (its jobs' calls and outcomes) on this
    # address and port, at /metrics; 0 turns the endpoint off.
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(9809, ge=0, le=65535)


class RouteServerConfig(Strict):
    """One BIRD 2 route server (DESIGN §4). ZT-IX writes only under ``config_dir``; the
    server's own bird.conf includes ZT-IX's main file (docs/route-servers.md)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,30}$")
    enabled: bool = True
    # ssh: SFTP + birdc over SSH with a pinned host key. local: files and birdc on this
    # machine (single-box IXes, tests, the embedded default).
    transport: Literal["ssh", "local"] = "ssh"
    host: str = ""
    port: int = Field(22, ge=1, le=65535)
    user: str = "ztix"
    # The server's host key as a known_hosts line; no key is ever accepted unseen.
    host_key: str = ""
    # The SSH private key: ZTIX_ROUTESERVERS__<N>__PRIVATE_KEY is awkward, so a file path.
    private_key_file: Path | None = None
    # A full path: commands run over SSH do not have /usr/sbin in PATH on Debian.
    birdc: str = "/usr/sbin/birdc"
    birdc_socket: Path = Path("/run/bird/bird.ctl")
    # ZT-IX's files: <config_dir>/ztix.conf (included by the server's bird.conf) and
    # <config_dir>/peers/*.conf. A new set goes live by renaming directories next to it,
    # so ZT-IX's SSH user owns the parent (docs/route-servers.md).
    config_dir: Path = Path("/etc/bird/ztix/live")
    # The file `birdc configure` loads (the server's own bird.conf, which includes ours).
    main_config: Path = Path("/etc/bird/bird.conf")
    asn: int = Field(ge=1, le=4_294_967_294)
    router_id: ipaddress.IPv4Address
    # Which IX network this server serves, by suffix or full ID, and its addresses there.
    network: str = Field(pattern=r"^([0-9a-fA-F]{6}|[0-9a-fA-F]{16})$")
    ipv4: ipaddress.IPv4Address
    ipv6: ipaddress.IPv6Address
    # Its ZeroTier node: ZT-IX authorizes it on the network with the addresses above.
    node_id: str | None = Field(None, pattern=r"^[0-9a-fA-F]{10}$")
    # Servers of a pair are reconfigured one after the other, lowest first.
    pair_order: int = 0
    configure_timeout_seconds: int = Field(60, ge=5, le=3600)
    ssh_timeout_seconds: float = Field(15, gt=0)


class RpkiValidatorConfig(Strict):
    """An RTR server (StayRTR, Routinator, rpki-client + StayRTR)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_]{0,30}$")
    host: str
    port: int = Field(3323, ge=1, le=65535)
    refresh_seconds: int = Field(300, ge=1)
    retry_seconds: int = Field(90, ge=1)
    expire_seconds: int = Field(7200, ge=600)


class RouteServerPolicyConfig(Strict):
    """The import policy; see docs/route-servers.md for the order and the reject codes."""

    ipv4_min_length: int = Field(8, ge=1, le=32)
    ipv4_max_length: int = Field(24, ge=1, le=32)
    ipv6_min_length: int = Field(12, ge=1, le=128)
    ipv6_max_length: int = Field(48, ge=1, le=128)
    max_as_path_length: int = Field(32, ge=1, le=255)
    # Max-prefix: admin override → PeeringDB info_prefixes4/6 x (1 + headroom) → default.
    max_prefix_headroom_percent: int = Field(25, ge=0, le=1000)
    default_max_prefix_ipv4: int = Field(100, ge=1)
    default_max_prefix_ipv6: int = Field(50, ge=1)
    import_limit_action: Literal["warn", "block", "restart", "disable"] = "restart"
    rpki_invalid: Literal["reject", "tag"] = "reject"


class PeeringDBApiConfig(Strict):
    """PeeringDB's REST API (max-prefix hints, AS-SETs, never-via-route-servers)."""

    base_url: str = "https://www.peeringdb.com/api"
    # ZTIX_PEERINGDB_API__API_KEY (or ..._API_KEY_FILE); anonymous when empty.
    api_key: SecretStr = SecretStr("")
    cache_ttl_seconds: int = Field(86400, ge=60)
    batch_size: int = Field(100, ge=1, le=500)
    timeout_seconds: float = Field(15, gt=0)


class RouteServersConfig(Strict):
    servers: tuple[RouteServerConfig, ...] = ()
    rpki_validators: tuple[RpkiValidatorConfig, ...] = ()
    policy: RouteServerPolicyConfig = RouteServerPolicyConfig()
    # Session state read with `birdc show protocols` is cached this long.
    status_cache_seconds: float = Field(10, ge=0)


class PeeringDBRequirementsConfig(Strict):
    """Requirements on the ASN's PeeringDB `net` record (read through the PeeringDB cache)."""

    require_record: bool = False
    reject_never_via_route_servers: bool = False
    # PeeringDB's policy_general, least to most open: No, Restrictive, Selective, Open.
    min_policy_general: Literal["No", "Restrictive", "Selective", "Open"] | None = None
    # review: a failed requirement leaves the request for an admin; deny: it refuses it.
    # PeeringDB unreachable is never a pass nor a refusal: an admin decides.
    on_failure: Literal["review", "deny"] = "review"


class AutoApprovalConfig(Strict):
    """Guardrails of policy_auto: an eligible request is still left to an admin unless these
    hold."""

    # The requester's PeeringDB perms on the ASN's network must hold every bit of this mask.
    required_peeringdb_perms: int = Field(2, ge=1, le=15)
    # ASNs granted by an admin (`ztix users create --asn`) carry no PeeringDB perms.
    allow_local_grants: bool = False
    # At most this many automatic approvals per ASN in any 24 hours; null: no limit.
    max_per_asn_per_day: int | None = Field(None, ge=1)


class PolicyConfig(Strict):
    """Who may join (eligibility) and when no human needs to look (docs/architecture.md)."""

    allowed_asns: tuple[AsnEntry, ...] = ()  # empty: any ASN that may peer
    denied_asns: tuple[AsnEntry, ...] = ()  # wins over every allow list
    peeringdb: PeeringDBRequirementsConfig = PeeringDBRequirementsConfig()
    auto_approval: AutoApprovalConfig = AutoApprovalConfig()


class LoggingConfig(Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class IxfConfig(Strict):
    """The IX-F Member Export (``GET /participants.json``, IX-F JSON schema 1.0): public,
    so it carries only what the IX publishes anyway, never personal data."""

    enabled: bool = True
    # The IX's ID in the IX-F database (https://ixpdb.euro-ix.net); 0 until registered.
    ixf_id: int = Field(0, ge=0)
    # The IX's own persistent number for itself, referenced by every member connection.
    ixp_id: int = Field(1, ge=0)
    shortname: str = Field("ZT-IX", min_length=1, max_length=100)
    name: str = Field("ZT-IX virtual Internet Exchange", min_length=1, max_length=200)
    url: str | None = Field(None, pattern=r"^https?://\S+$")
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")  # ISO 3166-1 alpha-2
    peeringdb_id: int | None = Field(None, ge=1)  # the N of https://www.peeringdb.com/ix/N
    # Cache-Control max-age of the export; collectors poll it, it changes slowly.
    cache_seconds: int = Field(300, ge=0, le=86400)


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
        return (_EnvWithoutSecretFiles(settings_cls), init_settings)


class _EnvWithoutSecretFiles(EnvSettingsSource):
    """The environment, less the ``*_FILE`` variables that load_settings reads itself."""

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        for key_path in SECRET_FILE_VARIABLES.values():
            node: Any = data
            for key in key_path[:-1]:
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, dict):
                node.pop(f"{key_path[-1]}_file", None)
        return data


# Secrets that may be given as the content of a file: VARIABLE_FILE=/path.
SECRET_FILE_VARIABLES: dict[str, tuple[str, ...]] = {
    "ZTIX_PEERINGDB__CLIENT_SECRET": ("peeringdb", "client_secret"),
    "ZTIX_PEERINGDB__TOKEN_KEYS": ("peeringdb", "token_keys"),
    "ZTIX_ZEROTIER__CENTRAL__TOKEN": ("zerotier", "central", "token"),
    "ZTIX_PEERINGDB_API__API_KEY": ("peeringdb_api", "api_key"),
    "DATABASE_URL": ("database_url",),
    "ZTIX_SERVER__METRICS_TOKEN": ("server", "metrics_token"),
}


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    return data


def _set_path(data: dict[str, Any], path: tuple[str, ...], value: str) -> None:
    for key in path[:-1]:
        data = data.setdefault(key, {})
    data[path[-1]] = value


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(part) for part in err["loc"]) or "(top level)"
        reason = err["msg"]
        if err["type"] == "extra_forbidden":
            reason = "unknown key"
        lines.append(f"{loc}: {reason}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def config_path(environ: dict[str, str] | None = None) -> Path | None:
    env = os.environ if environ is None else environ
    if env.get("ZTIX_CONFIG"):
        return Path(env["ZTIX_CONFIG"])
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.exists() else None


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Read the YAML file (``ZTIX_CONFIG``), secret files and environment, and validate."""
    file = path if path is not None else config_path()
    data: dict[str, Any] = _read_yaml(file) if file is not None else {}
    for variable, key_path in SECRET_FILE_VARIABLES.items():
        secret_file = os.environ.get(f"{variable}_FILE")
        if secret_file and variable not in os.environ:
            try:
                secret = Path(secret_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{variable}_FILE: cannot read {secret_file}") from exc
            _set_path(data, key_path, secret)
    data.update(overrides)
    try:
        return Settings(**data)
    except ValidationError as exc:
        where = f"{file}: " if file is not None else ""
        raise ConfigError(where + _describe(exc)) from exc
