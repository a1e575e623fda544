"""The desired state of one route server, defined in ``domain/routeserver.py`` (plain values
the use cases build and this adapter renders); the names stay importable from here."""

from ztix.domain.routeserver import (
    Blackholing,
    DesiredConfig,
    Peer,
    Policy,
    RouteServer,
    RpkiValidator,
    files_hash,
)

__all__ = [
    "Blackholing",
    "DesiredConfig",
    "Peer",
    "Policy",
    "RouteServer",
    "RpkiValidator",
    "files_hash",
]
