"""The ZeroTier side of the controller lifecycle's archive port
(``workflow.ports.ControllerArchives``): a client of the configured controller, restoring a
backup archive, validating one in scratch emulators. The running-controller port is
:class:`ztix.zerotier.controller.ControllerProvider` itself."""

from __future__ import annotations

from collections.abc import Set
from pathlib import Path

from ztix.config import ControllerConfig
from ztix.domain.controller import Expected, RestoreMode, RestoreReport, ValidationReport
from ztix.zerotier import restore as archive_restore
from ztix.zerotier import validate
from ztix.zerotier.archive import read_archive
from ztix.zerotier.controller import ControllerProvider, ControllerSettings


class ZeroTierArchives:
    def connect(self, conf: ControllerConfig) -> ControllerProvider:
        return ControllerProvider(ControllerSettings.from_config(conf))

    def restore(
        self,
        conf: ControllerConfig,
        controller: object | None,
        archive_path: Path,
        mode: RestoreMode,
    ) -> RestoreReport:
        if controller is not None and not isinstance(controller, ControllerProvider):
            raise TypeError(f"a logical restore needs a ControllerProvider, not {controller!r}")
        return archive_restore.restore(conf, controller, archive_path, mode)

    def validate(
        self,
        archive_path: Path,
        expected: Expected,
        report: ValidationReport,
        known_extra_nodes: Set[str],
    ) -> None:
        validate.validate_archive(read_archive(archive_path), expected, report, known_extra_nodes)


ARCHIVES = ZeroTierArchives()
