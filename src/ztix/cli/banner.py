"""What ``ztix serve`` prints before it starts: where to go, who to log in as, with what."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from ztix import observability
from ztix.config import Settings, config_path

ALL_INTERFACES = ("0.0.0.0", "::")  # noqa: S104 - compared with, never bound


def log_as_json(settings: Settings) -> bool:
    """``logging.format`` resolved for this process's standard error."""
    return observability.json_wanted(
        settings.logging.format, production=settings.environment == "production"
    )


def banner(
    settings: Settings,
    *,
    host: str,
    port: int,
    created_admin: tuple[str, str] | None,
    admins: list[str],
    json_logs: bool,
) -> str:
    """A few lines for the person who just typed ``make run``. The password of an admin
    created now is shown here, once; it is stored only as a hash."""
    shown = "<this host's address>" if host in ALL_INTERFACES else host
    if ":" in shown:
        shown = f"[{shown}]"
    url = f"http://{shown}:{port}"
    config = config_path()
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    lines = [
        "",
        "  ZT-IX is starting",
        f"    web app        {url}/",
        f"    API reference  {url}/api/v1/docs",
        f"    config file    {_config_line(config)}",
        f"    database       {database}",
        f"    environment    {settings.environment}",
    ]
    if created_admin is not None:
        username, password = created_admin
        lines += [
            "",
            "  Created the initial admin account; its one-time password is shown only here:",
            f"    username: {username}",
            f"    password: {password}",
            f"  Change it after logging in, or with `ztix users set-password {username}`.",
        ]
    elif admins:
        lines += [
            f"    admin users    {', '.join(admins[:5])}" + (" …" if len(admins) > 5 else ""),
            "                   (to reset a password: `ztix users set-password NAME`)",
        ]
    lines += [
        "",
        "  Logs follow as "
        + ("JSON lines" if json_logs else "text")
        + " (logging.format in the config). Stop with Ctrl-C.",
        "",
    ]
    return "\n".join(lines)


def _config_line(path: Path | None) -> str:
    if path is None:
        return "none (defaults and ZTIX_* environment variables)"
    return str(path.resolve()) if path.exists() else f"{path} (missing: defaults apply)"
