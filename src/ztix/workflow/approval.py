"""Approval with settings: what an admin may set when approving a join request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ztix.db.models import JoinRequest
from ztix.errors import AppError


@dataclass(frozen=True)
class Approval:
    """What an admin may set when approving: the route servers' import limits for this
    member (``None``: PeeringDB's hint or the default) and a note for the other admins."""

    max_prefix_ipv4: int | None = None
    max_prefix_ipv6: int | None = None
    note: str = ""

    def apply(self, request: JoinRequest) -> dict[str, Any]:
        """Write the settings on the request; the audit event's details."""
        details: dict[str, Any] = {"by": "admin"}
        if self.max_prefix_ipv4 is not None:
            request.max_prefix_ipv4_override = details["max_prefix_ipv4"] = self.max_prefix_ipv4
        if self.max_prefix_ipv6 is not None:
            request.max_prefix_ipv6_override = details["max_prefix_ipv6"] = self.max_prefix_ipv6
        if self.note:
            request.approval_note = details["note"] = self.note
        return details


MAX_PREFIX_LIMIT = 10_000_000
NOTE_LIMIT = 2000


def checked(approval: Approval) -> Approval:
    for family, value in (("IPv4", approval.max_prefix_ipv4), ("IPv6", approval.max_prefix_ipv6)):
        if value is not None and not 1 <= value <= MAX_PREFIX_LIMIT:
            raise AppError(
                "validation_failed", f"the {family} max-prefix must be 1-{MAX_PREFIX_LIMIT}"
            )
    note = approval.note.strip()
    if len(note) > NOTE_LIMIT or "\x00" in note:
        raise AppError("validation_failed", f"the note is text of at most {NOTE_LIMIT} characters")
    return Approval(approval.max_prefix_ipv4, approval.max_prefix_ipv6, note)
