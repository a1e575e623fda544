"""What the controller lifecycle reports: plain values, no I/O.

The ZeroTier adapter (``zerotier/checks.py``, ``archive.py``, ``restore.py``, ``drift.py``,
``validate.py``) fills them in; the lifecycle use cases (``workflow/controller.py``) audit
them through the port ``workflow.ports.ControllerLifecycle``; the API and the CLI show them.
They live here, below both, so the use cases need no adapter type.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

# -- checks --------------------------------------------------------------------------------


CheckStatus = Literal["pass", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    """One named readiness check. ``warn`` does not fail anything; it is worth a look."""

    name: str
    status: CheckStatus
    detail: str

    @property
    def ok(self) -> bool:
        return self.status != "fail"

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail}


def first_failure(checks: Iterable[Check]) -> Check | None:
    return next((c for c in checks if not c.ok), None)


# -- layer-2 settings ----------------------------------------------------------------------


# The fields ZT-IX owns on an IX network, in the order changes are reported.
MANAGED_FIELDS = (
    "name",
    "private",
    "mtu",
    "routes",
    "v4AssignMode",
    "v6AssignMode",
    "multicastLimit",
    "rules",
)


@dataclass(frozen=True)
class Change:
    """One managed field that differs: ``old`` as the controller has it, ``new`` as wanted."""

    field: str
    old: Any
    new: Any

    def describe(self) -> str:
        return f"{self.field}: {_short(self.old)} -> {_short(self.new)}"

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "old": self.old, "new": self.new}


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= 160 else text[:157] + "..."


# -- preflight -----------------------------------------------------------------------------


NetworkAction = Literal["created", "corrected", "unchanged", "failed"]


@dataclass(frozen=True)
class NetworkOutcome:
    """What preflight did to one declared network."""

    label: str
    network_id: str | None
    name: str
    action: NetworkAction
    changes: tuple[Change, ...] = ()
    detail: str = ""

    @property
    def changed(self) -> bool:
        """The network was created or corrected."""
        return self.action in ("created", "corrected")

    def check(self) -> Check:
        if self.action == "failed":
            return Check(self.label, "fail", self.detail)
        if self.action == "created":
            return Check(self.label, "pass", "created with the IX layer-2 settings")
        if self.action == "corrected":
            fixed = "; ".join(c.describe() for c in self.changes)
            return Check(self.label, "pass", f"corrected {fixed}")
        return Check(self.label, "pass", "present with the IX layer-2 settings")


@dataclass
class PreflightReport:
    checks: list[Check] = field(default_factory=list)
    controller_address: str | None = None
    controller_version: str | None = None
    networks: list[NetworkOutcome] = field(default_factory=list)
    table_changes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return first_failure(self.checks) is None

    @property
    def failed_check(self) -> Check | None:
        return first_failure(self.checks)

    @property
    def controller_ready(self) -> bool:
        """The controller answered and runs a ready controller database."""
        return all(c.ok for c in self.checks if c.name in ("status", "controller"))

    @property
    def changed(self) -> bool:
        return bool(self.table_changes) or any(n.changed for n in self.networks)


# -- comparing the controller with the database --------------------------------------------


DifferenceKind = Literal[
    "missing_network",
    "network_setting",
    "missing_member",
    "unauthorized_member",
    "wrong_addresses",
    "unknown_member",
]


@dataclass(frozen=True)
class Difference:
    """One way the controller (or an archive) and ZT-IX's database disagree."""

    kind: DifferenceKind
    network_id: str
    node_id: str | None
    detail: str

    def describe(self) -> str:
        where = self.network_id + (f" member {self.node_id}" if self.node_id else "")
        return f"{self.kind}: {where}: {self.detail}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "network_id": self.network_id,
            "node_id": self.node_id,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class MemberState:
    authorized: bool
    addresses: frozenset[str]


@dataclass(frozen=True)
class Expected:
    """What the database says: active members with their addresses, and who else it knows."""

    networks: frozenset[str]
    active: dict[tuple[str, str], frozenset[str]]  # (network, node) -> addresses
    in_flight: frozenset[tuple[str, str]]
    other_status: dict[tuple[str, str], str]  # latest status of any other request


def addresses(values: Iterable[Any]) -> frozenset[str]:
    out = set()
    for value in values:
        try:
            out.add(ipaddress.ip_address(str(value)).compressed)
        except ValueError:
            out.add(str(value))
    return frozenset(out)


@dataclass
class DriftReport:
    differences: list[Difference]
    networks_checked: int
    members_checked: int

    @property
    def ok(self) -> bool:
        return not self.differences


# -- backup and restore --------------------------------------------------------------------


class ArchiveError(Exception):
    """The file is not a ZT-IX controller backup, or is damaged."""


@dataclass
class BackupReport:
    path: Path
    size_bytes: int
    controller_address: str
    controller_version: str
    networks: int
    members: int
    files_included: bool
    file_count: int = 0
    warnings: list[str] = field(default_factory=list)
    deleted: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.warnings


RestoreMode = Literal["logical", "files"]


@dataclass
class RestoreReport:
    mode: RestoreMode
    archive: Path
    refused: str | None = None
    networks: int = 0
    members: int = 0
    files: int = 0
    mismatches: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.refused is None and not self.mismatches


# -- restore-validate ----------------------------------------------------------------------


@dataclass
class PartValidation:
    """One part of an archive (logical export or file snapshot) restored and compared."""

    source: Literal["logical", "files"]
    address: str
    networks: int
    members: int
    differences: list[Difference] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences and not self.problems


@dataclass
class ValidationReport:
    archive: Path
    parts: list[PartValidation] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.parts) and all(p.ok for p in self.parts)
