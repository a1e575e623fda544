"""The IRR test data and the session's IRRd (started once: it takes ~10 s).

A plugin module (named in the root conftest's ``pytest_plugins``) so every test tier can
use ``irrd``; the data is in ``tests.support.irr_data``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.irr_data import FIXTURES
from tests.support.irrd import IrrdServer


@pytest.fixture(scope="session")
def irrd() -> Iterator[IrrdServer]:
    """A real IRRd 4 loaded with ``FIXTURES``, shared by the session; treat it read-only."""
    with IrrdServer(FIXTURES) as server:
        yield server
