"""Settings: one YAML runtime config for policy and topology, secrets from the environment.

This is the only package that reads the environment (DESIGN §6). Precedence, highest first:
environment variables (``ZTIX_<SECTION>__<KEY>``, plus ``DATABASE_URL``), ``*_FILE``
variables naming a file that holds a secret, the YAML file named by ``ZTIX_CONFIG``
(default ``runtime-config.yaml`` when it exists), then the defaults.
A wrong key or value raises :class:`ConfigError` naming the key's path and the reason.

One module per concern: ``base`` (shared model base, secret-file variables), a module per
section (``server``, ``auth``, ``policy``, ``networks``, ``zerotier``, ``jobs``,
``routeservers``, ``peeringdb``, ``irr``), ``settings`` (the root and its cross-section checks) and
``loading`` (YAML, secret files, environment). Import the names from ``ztix.config``.
"""

from ztix.config.auth import (
    PEERINGDB_DISCOVERY_URL,
    AuthConfig,
    PeeringDBConfig,
    RateLimit,
    token_key_list,
)
from ztix.config.base import SECRET_FILE_VARIABLES, ConfigError, Strict
from ztix.config.directory import DirectoryConfig
from ztix.config.irr import IrrConfig
from ztix.config.jobs import JobsConfig, RetryConfig
from ztix.config.loading import DEFAULT_CONFIG_FILE, config_path, load_settings
from ztix.config.networks import NetworkConfig
from ztix.config.notifications import NotificationsConfig, SmtpConfig
from ztix.config.peeringdb import PeeringDBApiConfig
from ztix.config.policy import (
    ApprovalMode,
    AsnEntry,
    AutoApprovalConfig,
    PeeringDBRequirementsConfig,
    PolicyConfig,
    WorkflowConfig,
)
from ztix.config.routeservers import (
    EmbeddedRouteServerConfig,
    RouteServerConfig,
    RouteServerPolicyConfig,
    RouteServersConfig,
    RpkiValidatorConfig,
)
from ztix.config.server import DatabaseConfig, IxfConfig, LoggingConfig, ServerConfig
from ztix.config.settings import DEFAULT_DATABASE_URL, Environment, Settings
from ztix.config.zerotier import (
    CentralConfig,
    ControllerConfig,
    StartupGate,
    ZeroTierConfig,
)

__all__ = [
    "DEFAULT_CONFIG_FILE",
    "DEFAULT_DATABASE_URL",
    "PEERINGDB_DISCOVERY_URL",
    "SECRET_FILE_VARIABLES",
    "ApprovalMode",
    "AsnEntry",
    "AuthConfig",
    "AutoApprovalConfig",
    "CentralConfig",
    "ConfigError",
    "ControllerConfig",
    "DatabaseConfig",
    "DirectoryConfig",
    "EmbeddedRouteServerConfig",
    "Environment",
    "IrrConfig",
    "IxfConfig",
    "JobsConfig",
    "LoggingConfig",
    "NetworkConfig",
    "NotificationsConfig",
    "PeeringDBApiConfig",
    "PeeringDBConfig",
    "PeeringDBRequirementsConfig",
    "PolicyConfig",
    "RateLimit",
    "RetryConfig",
    "RouteServerConfig",
    "RouteServerPolicyConfig",
    "RouteServersConfig",
    "RpkiValidatorConfig",
    "ServerConfig",
    "Settings",
    "SmtpConfig",
    "StartupGate",
    "Strict",
    "WorkflowConfig",
    "ZeroTierConfig",
    "config_path",
    "load_settings",
    "token_key_list",
]
