"""Shared pieces of the settings models, and the environment source that leaves
``*_FILE`` secrets to the loader."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic_settings import EnvSettingsSource


class ConfigError(Exception):
    """The configuration cannot be used; the message names each bad key and why."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Secrets that may be given as the content of a file: VARIABLE_FILE=/path.
SECRET_FILE_VARIABLES: dict[str, tuple[str, ...]] = {
    "ZTIX_PEERINGDB__CLIENT_SECRET": ("peeringdb", "client_secret"),
    "ZTIX_PEERINGDB__TOKEN_KEYS": ("peeringdb", "token_keys"),
    "ZTIX_ZEROTIER__CENTRAL__TOKEN": ("zerotier", "central", "token"),
    "ZTIX_PEERINGDB_API__API_KEY": ("peeringdb_api", "api_key"),
    "DATABASE_URL": ("database_url",),
    "ZTIX_SERVER__METRICS_TOKEN": ("server", "metrics_token"),
    "ZTIX_ROUTESERVERS__PASSWORD_KEYS": ("routeservers", "password_keys"),
    "ZTIX_NOTIFICATIONS__SMTP__PASSWORD": ("notifications", "smtp", "password"),
}


class EnvWithoutSecretFiles(EnvSettingsSource):
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
