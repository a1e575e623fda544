"""Restore-validate: an archive restored into scratch emulators and compared with the
database's active memberships (every active member authorized with exactly its addresses,
every active network present, no authorized member ZT-IX does not know)."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Set
from pathlib import Path
from typing import Literal

from ztix.domain.controller import Expected, PartValidation, RestoreReport, ValidationReport
from ztix.zerotier.archive import Archive
from ztix.zerotier.controller import ControllerProvider, ControllerSettings
from ztix.zerotier.drift import compare, read_view
from ztix.zerotier.emulator import ControllerEmulator
from ztix.zerotier.restore import restore_logical

# -- restore-validate -----------------------------------------------------------------------------


@contextlib.contextmanager
def _scratch(home: Path) -> Iterator[ControllerProvider]:
    """A throw-away emulator on loopback with its state in ``home``, and a client for it."""
    emulator = ControllerEmulator(home, "127.0.0.1", 0)
    emulator.start()
    try:
        settings = ControllerSettings(url=emulator.url, token=emulator.token, timeout_seconds=10)
        with ControllerProvider(settings) as client:
            yield client
    finally:
        emulator.stop()


def _validate_part(
    source: Literal["logical", "files"],
    archive: Archive,
    expected: Expected,
    known_extra_nodes: Set[str],
    workdir: Path,
) -> PartValidation:
    home = workdir / source
    home.mkdir(mode=0o700)
    if source == "files":
        # The emulator loads controller.d and the identity at start, as zerotier-one does.
        for name, data in archive.files.items():
            path = home / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    with _scratch(home) as scratch:
        # The logical part names the controller it came from; the file snapshot must bring
        # that same identity back.
        address = archive.address if source == "logical" else scratch.status().address
        part = PartValidation(source, address, 0, 0)
        if source == "logical":
            # The scratch controller has its own address: the prefix rule cannot hold here.
            restored = RestoreReport(mode="logical", archive=Path())
            restore_logical(scratch, archive, restored, require_own_prefix=False)
            part.problems.extend(restored.mismatches)
        elif archive.address and part.address != archive.address:
            part.problems.append(
                f"the snapshot's identity is {part.address}, the export says {archive.address}"
            )
        part.networks = len(scratch.list_networks())
        view, part.members = read_view(scratch, sorted(expected.networks))
        part.differences = compare(expected, view, known_extra_nodes)
    return part


def validate_archive(
    archive: Archive,
    expected: Expected,
    report: ValidationReport,
    known_extra_nodes: Set[str] = frozenset(),
) -> None:
    """Restore ``archive`` into scratch emulators (the logical export, and the file snapshot
    when present) and add to ``report`` how each compares with ``expected``. Raises
    :class:`ProviderError` or :class:`OSError` when a scratch controller fails."""
    with tempfile.TemporaryDirectory(prefix="ztix-restore-validate-") as tmp:
        workdir = Path(tmp)
        report.parts.append(
            _validate_part("logical", archive, expected, known_extra_nodes, workdir)
        )
        if archive.files:
            report.parts.append(
                _validate_part("files", archive, expected, known_extra_nodes, workdir)
            )
