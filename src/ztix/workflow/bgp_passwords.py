"""Members' BGP session passwords (TCP MD5): set, cleared, and read back for rendering.

The password is validated against ``domain.bgp_password`` (so it can be written inside
quotes in a BIRD file), encrypted with the ``routeservers.password_keys`` (MultiFernet,
the mechanism of ``auth.tokens``) and stored on the request. It is never returned by the
API and never written to the audit log: the audit event says only that it was set or
cleared. The member's side must use the same password, or the session stays down.
"""

from __future__ import annotations

import logging
import uuid
from typing import Protocol

from sqlalchemy.orm import Session

from ztix.auth.tokens import TokenCipher
from ztix.config import Settings, token_key_list
from ztix.db.models import JoinRequest
from ztix.domain.bgp_password import BGP_PASSWORD_CHARS, valid_bgp_password
from ztix.errors import AppError
from ztix.workflow import audit
from ztix.workflow.audit import Actor
from ztix.workflow.dispatch import route_servers_after_commit

log = logging.getLogger(__name__)


def cipher(settings: Settings) -> TokenCipher | None:
    keys = token_key_list(settings.routeservers.password_keys)
    return TokenCipher(keys) if keys else None


def set_password(
    db: Session, settings: Settings, actor: Actor, request: JoinRequest, password: str | None
) -> bool:
    """Set (or, with None, clear) the member's session password; the caller commits. True
    when something changed. The route servers are resynced after the commit."""
    if password is not None and not valid_bgp_password(password):
        raise AppError(
            "invalid_bgp_password",
            f"a BGP password is 8 to 80 characters of {BGP_PASSWORD_CHARS}",
        )
    if password is None:
        if request.bgp_password_encrypted is None:
            return False
        request.bgp_password_encrypted = None
    else:
        box = cipher(settings)
        if box is None:
            raise AppError(
                "bgp_password_unavailable",
                "this IX has not configured routeservers.password_keys",
            )
        request.bgp_password_encrypted = box.encrypt(password)
    audit.record(
        db,
        actor,
        "request.bgp_password_set" if password is not None else "request.bgp_password_cleared",
        target_type="request",
        target_id=request.id,
        request_id=request.id,
        details={},
    )
    route_servers_after_commit(db)
    return True


class SealedPassword(Protocol):
    """What :func:`stored_password` reads: a request, or the columns of one."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def bgp_password_encrypted(self) -> str | None: ...


def stored_password(settings: Settings, request: SealedPassword) -> str | None:
    """The member's password for rendering, or None (none set, or no key opens it: then
    the session is rendered without one and the failure logged)."""
    if request.bgp_password_encrypted is None:
        return None
    box = cipher(settings)
    plain = box.decrypt(request.bgp_password_encrypted) if box is not None else None
    if plain is None or not valid_bgp_password(plain):
        log.error(
            "request %s: its BGP password cannot be decrypted with routeservers.password_keys;"
            " its sessions are rendered without one",
            request.id,
        )
        return None
    return plain


def has_password(request: JoinRequest) -> bool:
    return request.bgp_password_encrypted is not None
