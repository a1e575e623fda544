"""Reading the settings: the YAML file, ``*_FILE`` secrets and the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ztix.config.base import SECRET_FILE_VARIABLES, ConfigError
from ztix.config.settings import Settings

DEFAULT_CONFIG_FILE = Path("runtime-config.yaml")


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
