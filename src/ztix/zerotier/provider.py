"""The one protocol every ZeroTier backend implements, and its error taxonomy.

Adapters: ``controller.py`` (self-hosted zerotier-one controller API) and ``central.py``
(ZeroTier Central). Both are synchronous (the job system runs in worker threads/processes),
send strictly typed bodies and read every write back: the controller coerces wrong types
silently (DESIGN §4), so a write is only trusted once it has been read back equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# The `system` named in errors and audit events.
SYSTEM_CONTROLLER = "zerotier-controller"
SYSTEM_CENTRAL = "zerotier-central"


@dataclass(frozen=True)
class MemberSpec:
    """What ZT-IX wants a member to look like."""

    network_id: str  # 16 lower-case hex
    node_id: str  # 10 lower-case hex
    authorized: bool
    ip_assignments: tuple[str, ...]  # plain addresses, e.g. ("192.0.2.10", "2001:db8::1")
    name: str = ""


@dataclass(frozen=True)
class Member:
    """A member as the provider reports it."""

    network_id: str
    node_id: str
    authorized: bool
    ip_assignments: tuple[str, ...]
    name: str = ""
    no_auto_assign_ips: bool | None = None
    revision: int | None = None

    def matches(self, spec: MemberSpec) -> bool:
        return (
            self.authorized == spec.authorized
            and sorted(self.ip_assignments) == sorted(spec.ip_assignments)
            and (not spec.name or self.name == spec.name)
        )


class ProviderError(Exception):
    """A ZeroTier call failed. ``code`` is a registered problem code (ztix.errors)."""

    code = "controller_error"
    retryable = False

    def __init__(self, message: str, *, system: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.system = system
        self.retry_after = retry_after


class ProviderAuthFailed(ProviderError):
    """The token was refused (401/403). Retrying will not help."""

    code = "controller_auth_failed"


class ProviderNotFound(ProviderError):
    """The network (or member, where that is an error) does not exist."""

    code = "controller_not_found"


class ProviderRejected(ProviderError):
    """The provider refused the input, or a write read back different from what was sent."""

    code = "controller_rejected"


class ProviderUnavailable(ProviderError):
    """Timeout, connection failure, 5xx, or the controller's database not ready (503)."""

    code = "controller_unavailable"
    retryable = True


class ProviderRateLimited(ProviderError):
    """429: retry after ``retry_after`` seconds."""

    code = "controller_rate_limited"
    retryable = True


class ZeroTierProvider(Protocol):
    """Members of IX networks on one ZeroTier backend."""

    system: str

    def ensure_member(self, spec: MemberSpec) -> Member:
        """Create or update the member to ``spec`` and return it as read back.

        Raises :class:`ProviderRejected` when the read-back differs from ``spec``.
        POSTing a member the controller has never seen pre-authorizes it.
        """
        ...

    def get_member(self, network_id: str, node_id: str) -> Member | None:
        """The member, or None when the network has no such member."""
        ...

    def list_members(self, network_id: str) -> dict[str, int]:
        """Node ID → revision for every member of the network."""
        ...

    def deauthorize_member(self, network_id: str, node_id: str) -> Member | None:
        """Authorized false and no addresses; None when there was no such member."""
        ...

    def delete_member(self, network_id: str, node_id: str) -> None:
        """Remove the member; not an error when it is already gone."""
        ...

    def close(self) -> None: ...
