"""BIRD 2 route servers, their RPKI validators and import policy."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from ztix.config.auth import RateLimit, token_key_list
from ztix.config.base import Strict


class RouteServerConfig(Strict):
    """One BIRD 2 route server (DESIGN §4). ZT-IX writes only under ``config_dir``; the
    server's own bird.conf includes ZT-IX's main file (docs/route-servers.md)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,30}$")
    enabled: bool = True
    # ssh: SFTP + birdc over SSH with a pinned host key. local: files and BIRD's control
    # socket on this machine, spoken directly as birdc does (single-box IXes, tests, the
    # embedded default).
    transport: Literal["ssh", "local"] = "ssh"
    host: str = ""
    port: int = Field(22, ge=1, le=65535)
    user: str = "ztix"
    # The server's host key as a known_hosts line; no key is ever accepted unseen.
    host_key: str = ""
    # The SSH private key: ZTIX_ROUTESERVERS__<N>__PRIVATE_KEY is awkward, so a file path.
    private_key_file: Path | None = None
    # A full path: commands run over SSH do not have /usr/sbin in PATH on Debian. (The
    # local transport starts no birdc: it speaks birdc_socket itself.)
    birdc: str = "/usr/sbin/birdc"
    birdc_socket: Path = Path("/run/bird/bird.ctl")
    # ZT-IX's files: <config_dir>/ztix.conf (included by the server's bird.conf) and
    # <config_dir>/peers/*.conf. A new set goes live by renaming directories next to it,
    # so ZT-IX's SSH user owns the parent (docs/route-servers.md).
    config_dir: Path = Path("/etc/bird/ztix/live")
    # The file `birdc configure` loads (the server's own bird.conf, which includes ours).
    main_config: Path = Path("/etc/bird/bird.conf")
    # Unset: the include lines ZT-IX renders name absolute paths. Set to the directory of
    # the host's bird.conf (as BIRD sees it): they are relative, so the tree can move as one
    # (a chroot, a container, a copy) (docs/route-servers.md, "Relative includes").
    include_base: Path | None = None
    asn: int = Field(ge=1, le=4_294_967_294)
    router_id: ipaddress.IPv4Address
    # Which IX network this server serves, by suffix or full ID, and its addresses there.
    network: str = Field(pattern=r"^([0-9a-fA-F]{6}|[0-9a-fA-F]{16})$")
    ipv4: ipaddress.IPv4Address
    ipv6: ipaddress.IPv6Address
    # The port its BGP sessions listen on (BIRD's `local ... port`); members' routers
    # dial it. 179 but for a route server that cannot bind privileged ports.
    bgp_port: int = Field(179, ge=1, le=65535)
    # Its ZeroTier node: ZT-IX authorizes it on the network with the addresses above.
    node_id: str | None = Field(None, pattern=r"^[0-9a-fA-F]{10}$")
    # Servers of a pair are reconfigured one after the other, lowest first.
    pair_order: int = 0
    configure_timeout_seconds: int = Field(60, ge=5, le=3600)
    ssh_timeout_seconds: float = Field(15, gt=0)

    @field_validator("include_base")
    @classmethod
    def _absolute_base(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_absolute():
            raise ValueError("include_base is a directory on the route server: an absolute path")
        return value


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
    # Receive limit (routes received, before filtering; BIRD `receive limit`): admin override
    # → PeeringDB info_prefixes4/6 x (1 + headroom) → default; never below the import limit.
    receive_limit_headroom_percent: int = Field(100, ge=0, le=1000)
    default_receive_limit_ipv4: int = Field(200, ge=1)
    default_receive_limit_ipv6: int = Field(100, ge=1)
    receive_limit_action: Literal["warn", "block", "restart", "disable"] = "restart"
    rpki_invalid: Literal["reject", "tag"] = "reject"
    # IRR checks (arouteserver's filtering.irr_policy): a route whose prefix is not covered
    # by the member's AS-SET route objects, or whose origin AS is not in the AS-SET, is
    # rejected (default) or tagged with an informational community and accepted.
    irr_prefix: Literal["reject", "tag"] = "reject"
    irr_origin: Literal["reject", "tag"] = "reject"
    # An RPKI-valid route passes both IRR checks (ROAs count as route objects).
    rpki_valid_is_irr_valid: bool = True
    # More-specifics of a route object are accepted up to the maximum lengths above
    # (ipv4_max_length / ipv6_max_length); off: exact route objects only.
    irr_more_specifics: bool = True


class EmbeddedRouteServerConfig(Strict):
    """Embedded default only: ``ztix serve`` runs one BIRD 2 route server and a StayRTR on
    this machine, with every file under ``state_dir`` (docs/route-servers.md, "The embedded
    route server"). When enabled, the server and the validator join ``servers`` and
    ``rpki_validators`` like any other (local transport). Never in production."""

    enabled: bool = False
    name: str = Field("rs-embedded", pattern=r"^[a-z0-9][a-z0-9-]{0,30}$")
    asn: int = Field(64500, ge=1, le=4_294_967_294)
    network: str = Field("000001", pattern=r"^([0-9a-fA-F]{6}|[0-9a-fA-F]{16})$")
    ipv4: ipaddress.IPv4Address = ipaddress.IPv4Address("192.0.2.1")
    ipv6: ipaddress.IPv6Address = ipaddress.IPv6Address("2001:db8:ab::1")
    # Unprivileged by default: the route server needs no root to listen.
    bgp_port: int = Field(1179, ge=1, le=65535)
    # bird.conf, the control socket, ZT-IX's config directory, logs, the ROA file.
    state_dir: Path = Path("var/routeserver")
    bird: str = "/usr/sbin/bird"
    birdc: str = "/usr/sbin/birdc"
    stayrtr: str = "/usr/bin/stayrtr"
    # StayRTR listens on 127.0.0.1:rtr_port serving roa_file (a small sample is written
    # there when missing); 0: no validator, routes are tagged "RPKI not checked".
    rtr_port: int = Field(3323, ge=0, le=65535)
    roa_file: Path | None = None  # default: <state_dir>/roas.json

    @property
    def root(self) -> Path:
        # Absolute: BIRD resolves the paths birdc sends relative to its own directory.
        return self.state_dir.absolute()

    @property
    def roas(self) -> Path:
        return (self.roa_file or self.root / "roas.json").absolute()

    def server(self) -> RouteServerConfig:
        return RouteServerConfig(
            name=self.name,
            transport="local",
            host="localhost",
            birdc=self.birdc,
            birdc_socket=self.root / "bird.ctl",
            config_dir=self.root / "ztix" / "live",
            main_config=self.root / "bird.conf",
            asn=self.asn,
            router_id=self.ipv4,
            network=self.network,
            ipv4=self.ipv4,
            ipv6=self.ipv6,
            bgp_port=self.bgp_port,
            configure_timeout_seconds=30,
        )

    def validator(self) -> RpkiValidatorConfig | None:
        if not self.rtr_port:
            return None
        # Short retry: BIRD may dial before StayRTR listens.
        return RpkiValidatorConfig(
            name=self.name.replace("-", "_"),
            host="127.0.0.1",
            port=self.rtr_port,
            refresh_seconds=60,
            retry_seconds=5,
            expire_seconds=3600,
        )


class RouteServersConfig(Strict):
    servers: tuple[RouteServerConfig, ...] = ()
    rpki_validators: tuple[RpkiValidatorConfig, ...] = ()
    policy: RouteServerPolicyConfig = RouteServerPolicyConfig()
    # Session state read with `birdc show protocols` is cached this long.
    status_cache_seconds: float = Field(10, ge=0)
    # Fernet keys (comma-separated, `ztix.auth.tokens.generate_key()`) that encrypt the
    # members' BGP session passwords at rest: the first encrypts, all decrypt (rotation).
    # Empty: members cannot set a password (bgp_password_unavailable).
    password_keys: SecretStr = SecretStr("")
    # The member looking glass: answers of `birdc show route` are cached this long, and each
    # user may make this many route-server queries (cache misses) per window.
    looking_glass_cache_seconds: float = Field(30, ge=0)
    looking_glass_queries_per_user: RateLimit = RateLimit(attempts=30, window_seconds=60)

    @field_validator("password_keys")
    @classmethod
    def _fernet_keys(cls, value: SecretStr) -> SecretStr:
        keys = token_key_list(value)
        if not keys:  # no key, no cryptography imported (auth/tokens.py)
            return value
        from cryptography.fernet import Fernet

        for key in keys:
            try:
                Fernet(key)
            except ValueError:
                raise ValueError(
                    "each key must be 32 url-safe base64-encoded bytes (a Fernet key)"
                ) from None
        return value

    embedded: EmbeddedRouteServerConfig = EmbeddedRouteServerConfig()

    @model_validator(mode="after")
    def _with_embedded(self) -> RouteServersConfig:
        """The embedded route server and validator are served like configured ones."""
        if self.embedded.enabled:
            server, validator = self.embedded.server(), self.embedded.validator()
            # A frozen model: set once, here, while it is being built.
            object.__setattr__(self, "servers", (*self.servers, server))
            if validator is not None:
                validators = (*self.rpki_validators, validator)
                object.__setattr__(self, "rpki_validators", validators)
        return self
