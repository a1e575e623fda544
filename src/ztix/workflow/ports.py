"""The ports the use cases need: what they ask of the outside world, as protocols.

The use cases (``workflow/``) depend on these; an adapter satisfies one by shape (no
inheritance, no import of ``workflow``), and a composition root (``jobs/``, ``api/``, ``cli/``)
hands the concrete adapter in. What a port returns are plain values from ``domain/``.

- :class:`ControllerLifecycle`: a running self-hosted ZeroTier controller, as the lifecycle
  use cases (``workflow/controller.py``) drive it; ``zerotier.controller.ControllerProvider``.
- :class:`ControllerArchives`: the controller work that needs no client of a running
  controller: making one, restoring and validating a backup archive;
  ``zerotier.lifecycle.ZeroTierArchives``.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from pathlib import Path
from typing import Protocol

from ztix.config import ControllerConfig, NetworkConfig
from ztix.domain.controller import (
    BackupReport,
    Check,
    DriftReport,
    Expected,
    NetworkOutcome,
    PreflightReport,
    RestoreMode,
    RestoreReport,
    ValidationReport,
)


class ControllerLifecycle(Protocol):
    """A running controller: readiness, the IX networks made to exist with the IX layer-2
    settings, its token, a backup of it, and how it differs from the database.

    Controller failures raise the provider's errors (``ProviderError`` and subclasses)."""

    def check_ready(self, networks: Sequence[NetworkConfig]) -> list[Check]:
        """Cheap, read-only readiness of the controller and every declared network."""
        ...

    def preflight(self, networks: Sequence[NetworkConfig]) -> PreflightReport:
        """Check the controller and make every declared network exist with the IX layer-2
        settings (created or corrected, each change reported). Idempotent."""
        ...

    def reconcile_network(self, network: NetworkConfig, address: str) -> NetworkOutcome:
        """Create one declared network when missing, or set back its drifted fields."""
        ...

    def reload_token(self) -> None:
        """Re-read the token file and swap the new token in once the controller accepts it."""
        ...

    def backup(self, home: Path | None, dest_dir: Path, keep: int) -> BackupReport:
        """Write an archive to ``dest_dir`` and keep the newest ``keep``."""
        ...

    def drift(
        self, networks: Sequence[NetworkConfig], expected: Expected, known_extra_nodes: Set[str]
    ) -> DriftReport:
        """How the controller differs from ``expected`` (read-only)."""
        ...

    def close(self) -> None: ...


class ControllerArchives(Protocol):
    """Controller work without a client of ours: connecting, restoring, validating."""

    def connect(self, conf: ControllerConfig) -> ControllerLifecycle:
        """A client of the configured controller (raises ``ProviderError`` or
        ``ValueError`` when it cannot be set up, e.g. an unreadable token file)."""
        ...

    def restore(
        self,
        conf: ControllerConfig,
        controller: ControllerLifecycle | None,
        archive_path: Path,
        mode: RestoreMode,
    ) -> RestoreReport:
        """Restore an archive: ``files`` into the home directory with the controller
        stopped, or ``logical`` through ``controller`` (required then)."""
        ...

    def validate(
        self,
        archive_path: Path,
        expected: Expected,
        report: ValidationReport,
        known_extra_nodes: Set[str],
    ) -> None:
        """Read the archive, restore each part into a scratch controller and add to
        ``report`` how it compares with ``expected``. Raises ``ArchiveError`` for a file
        that is not a backup, ``ProviderError``/``OSError`` when a scratch controller fails."""
        ...
