"""The ZeroTier provider: a self-hosted controller or ZeroTier Central."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from ztix.config.base import Strict


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
