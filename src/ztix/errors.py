"""The one registry of error codes ZT-IX answers with.

Every failure a client can see is an :class:`AppError` carrying a ``code`` from
:data:`CODES`. The API turns it into RFC 9457 problem JSON; the UI maps codes to sentences.
Codes are stable: rename one only with a deprecation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ErrorKind:
    status: int
    title: str


CODES: dict[str, ErrorKind] = {
    # request shape and identifiers
    "validation_failed": ErrorKind(422, "The request body or parameters are not valid"),
    "invalid_asn": ErrorKind(422, "The ASN cannot peer at this IX"),
    "invalid_node_id": ErrorKind(422, "The ZeroTier node ID is not valid"),
    "invalid_network_id": ErrorKind(422, "The ZeroTier network ID is not valid"),
    "reason_required": ErrorKind(422, "A reason is required"),
    "not_found": ErrorKind(404, "Not found"),
    "method_not_allowed": ErrorKind(405, "Method not allowed"),
    "payload_too_large": ErrorKind(413, "The request body is too large"),
    "internal_error": ErrorKind(500, "Internal error"),
    "database_unavailable": ErrorKind(503, "The database cannot be reached; try again shortly"),
    "database_busy": ErrorKind(503, "The database is busy; try again shortly"),
    # sessions and login
    "not_authenticated": ErrorKind(401, "Log in first"),
    "session_expired": ErrorKind(401, "The session has expired; log in again"),
    "forbidden": ErrorKind(403, "You may not do this"),
    "admin_required": ErrorKind(403, "Only IX admins may do this"),
    "csrf_failed": ErrorKind(403, "Missing or wrong CSRF token"),
    "invalid_credentials": ErrorKind(401, "Wrong username or password"),
    "account_disabled": ErrorKind(403, "This account is disabled"),
    "too_many_attempts": ErrorKind(429, "Too many failed login attempts"),
    "rate_limited": ErrorKind(429, "Too many requests in a short time; slow down"),
    # API tokens (Authorization: Bearer)
    "token_invalid": ErrorKind(401, "The API token is unknown, expired or revoked"),
    "token_scope": ErrorKind(403, "The API token's scope does not allow this"),
    "token_not_allowed": ErrorKind(403, "API tokens cannot do this; log in"),
    "token_not_found": ErrorKind(404, "No such API token"),
    # notifications
    "webhook_url_refused": ErrorKind(422, "This webhook URL cannot be used"),
    "webhook_limit": ErrorKind(409, "You have as many webhooks as allowed"),
    "webhook_not_found": ErrorKind(404, "No such webhook"),
    "email_address_managed": ErrorKind(
        409, "Your e-mail address comes from PeeringDB; change it there"
    ),
    "peeringdb_disabled": ErrorKind(404, "PeeringDB login is not enabled on this IX"),
    "provider_unavailable": ErrorKind(502, "PeeringDB could not be reached"),
    "state_invalid": ErrorKind(400, "This login link is not valid; start again"),
    "state_replayed": ErrorKind(400, "This login link was already used; start again"),
    "state_expired": ErrorKind(400, "This login link has expired; start again"),
    "provider_error": ErrorKind(400, "PeeringDB refused the login"),
    "token_exchange_failed": ErrorKind(502, "PeeringDB did not accept the login code"),
    "id_token_invalid": ErrorKind(401, "PeeringDB's identity token failed validation"),
    "userinfo_failed": ErrorKind(502, "PeeringDB did not return the user's profile"),
    "user_not_verified": ErrorKind(403, "The PeeringDB account or its e-mail is not verified"),
    "no_eligible_networks": ErrorKind(
        403, "The PeeringDB account holds no network with the required permissions"
    ),
    # join requests
    "asn_not_authorized": ErrorKind(403, "You do not hold this ASN"),
    "network_not_found": ErrorKind(404, "No such IX network"),
    "network_not_authorized": ErrorKind(403, "You may not join this IX network"),
    # the eligibility policy refused the request; the problem's `rule` names the config key
    "asn_not_eligible": ErrorKind(403, "This ASN may not join this IX"),
    "network_not_eligible": ErrorKind(403, "This ASN may not join this IX network"),
    "duplicate_open_request": ErrorKind(409, "An open request already exists"),
    # a node belongs to one member per IX network; the holder is named to admins only
    "node_in_use": ErrorKind(409, "Another member's request holds this ZeroTier node"),
    "node_reserved": ErrorKind(409, "This ZeroTier node is reserved for the IX's own equipment"),
    "invalid_transition": ErrorKind(409, "The request is not in a state that allows this"),
    "request_not_found": ErrorKind(404, "No such request"),
    "user_exists": ErrorKind(409, "A user with this name already exists"),
    # ZeroTier (controller or Central); the failing system is named beside the code
    "controller_error": ErrorKind(502, "ZeroTier answered with an error"),
    "controller_auth_failed": ErrorKind(502, "ZeroTier refused ZT-IX's token"),
    "controller_not_found": ErrorKind(502, "The ZeroTier network does not exist"),
    "controller_rejected": ErrorKind(502, "ZeroTier refused or altered the change"),
    "controller_unavailable": ErrorKind(503, "ZeroTier could not be reached"),
    "controller_rate_limited": ErrorKind(503, "ZeroTier asked ZT-IX to slow down"),
    "address_plan_exhausted": ErrorKind(409, "No peering-LAN address is left"),
    "route_server_apply_failed": ErrorKind(
        502, "A route server did not take its new configuration"
    ),
    # IRR (AS-SET) data of the route servers' filters
    "irr_as_set_invalid": ErrorKind(422, "Not a list of AS-SET names or ASNs"),
    "irr_disabled": ErrorKind(409, "IRR filtering is not enabled on this IX"),
    "irr_refresh_running": ErrorKind(409, "An IRR refresh is already running"),
    "route_server_not_found": ErrorKind(404, "No such route server"),
    "invalid_bgp_password": ErrorKind(
        422, "The BGP password must be 8 to 80 characters of A-Za-z0-9!#%*+,-./:=@^_~"
    ),
    "bgp_password_unavailable": ErrorKind(
        409, "This IX does not store BGP session passwords (no encryption key is configured)"
    ),
    "route_server_unavailable": ErrorKind(502, "The route server did not answer; try again"),
    "invalid_prefix": ErrorKind(422, "That is not a valid IP prefix for this session"),
    "route_server_disabled": ErrorKind(409, "The route server is disabled in the configuration"),
    "route_server_pair_drained": ErrorKind(
        409, "Another route server of this network is drained; undrain it first"
    ),
    "user_not_found": ErrorKind(404, "No such user"),
}


class AppError(Exception):
    """A failure with a stable ``code``; ``extra`` becomes extension members of the problem."""

    def __init__(self, code: str, detail: str | None = None, **extra: Any) -> None:
        if code not in CODES:
            raise KeyError(f"unregistered error code {code!r}")
        self.code = code
        self.kind = CODES[code]
        self.detail = detail or self.kind.title
        self.extra = extra
        super().__init__(f"{code}: {self.detail}")

    @property
    def status(self) -> int:
        return self.kind.status
