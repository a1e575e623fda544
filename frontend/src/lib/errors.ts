/**
 * The one place problem `code`s (src/ztix/errors.py) become plain sentences.
 * tests/e2e/test_api_types.py fails when the server has a code this table lacks.
 */
import { isApiError } from "@/api/client";

export interface ErrorText {
  /** What happened, in one sentence. */
  message: string;
  /** What to do next, when there is something to do. */
  hint?: string;
}

// biome-ignore format: one code a line, as tests/e2e/test_api_types.py reads the table
export const ERROR_TEXT: Record<string, ErrorText> = {
  // request shape and identifiers
  validation_failed: { message: "Some of the details you entered are not valid.", hint: "Check the highlighted fields and try again." },
  invalid_asn: { message: "This ASN cannot peer at this IX.", hint: "Private, reserved and documentation ASNs are not accepted; pick a public ASN." },
  invalid_node_id: { message: "That is not a valid ZeroTier node ID.", hint: "A node ID is 10 hexadecimal characters, as `zerotier-cli info` prints it." },
  invalid_network_id: { message: "That is not a valid ZeroTier network ID.", hint: "A network ID is 16 hexadecimal characters." },
  reason_required: { message: "A reason is required.", hint: "Write a short reason: the member will read it." },
  not_found: { message: "This page or item does not exist." },
  method_not_allowed: { message: "The server does not allow this action here." },
  payload_too_large: { message: "What you sent is too large.", hint: "Shorten the text and try again." },
  internal_error: { message: "Something went wrong on the server.", hint: "Try again in a moment; the error is logged." },
  database_unavailable: { message: "ZT-IX cannot reach its database just now.", hint: "Try again in a few seconds; if it lasts, tell the IX team." },
  database_busy: { message: "ZT-IX is very busy just now.", hint: "Try again in a few seconds." },
  network_error: { message: "The ZT-IX server could not be reached.", hint: "Check your connection; the page retries by itself." },
  // sessions and login
  not_authenticated: { message: "Please log in first." },
  session_expired: { message: "Your session has expired.", hint: "Log in again to carry on where you were." },
  forbidden: { message: "You are not allowed to do this." },
  admin_required: { message: "Only IX admins can do this." },
  csrf_failed: { message: "Your session's security token did not match.", hint: "Reload the page and try again." },
  invalid_credentials: { message: "Wrong username or password." },
  account_disabled: { message: "This account is disabled.", hint: "Ask the IX team to re-enable it." },
  too_many_attempts: { message: "Too many failed login attempts.", hint: "Wait a few minutes before trying again." },
  rate_limited: { message: "Too many requests in a short time.", hint: "Wait a minute, then try again." },
  token_invalid: { message: "This API token is unknown, expired or revoked.", hint: "Create a new token on the API tokens page." },
  token_scope: { message: "This API token may only read.", hint: "Create a token with the read and write scope." },
  token_not_allowed: { message: "API tokens cannot do this.", hint: "Log in to the web app instead." },
  token_not_found: { message: "This API token does not exist, or is not yours." },
  webhook_url_refused: { message: "This webhook URL cannot be used.", hint: "Use an http:// or https:// URL whose host is on the public Internet." },
  webhook_limit: { message: "You already have as many webhooks as this IX allows.", hint: "Delete one you no longer use first." },
  webhook_not_found: { message: "This webhook does not exist, or is not yours." },
  email_address_managed: { message: "Your e-mail address comes from PeeringDB.", hint: "Change it on PeeringDB and log in again." },
  peeringdb_disabled: { message: "PeeringDB login is not enabled on this IX.", hint: "Use a local account, or ask the IX team." },
  provider_unavailable: { message: "PeeringDB could not be reached.", hint: "Try again in a few minutes." },
  state_invalid: { message: "This login link is not valid, or was started in another browser.", hint: "Start the login again from this browser." },
  state_replayed: { message: "This login link was already used.", hint: "Start the login again." },
  state_expired: { message: "This login link has expired.", hint: "Start the login again and finish it within a few minutes." },
  provider_error: { message: "PeeringDB did not complete the login (it was refused or cancelled).", hint: "Start the login again and allow ZT-IX access." },
  token_exchange_failed: { message: "PeeringDB did not accept the login code.", hint: "Start the login again." },
  id_token_invalid: { message: "PeeringDB's answer failed our security checks.", hint: "Start the login again; if it keeps failing, tell the IX team." },
  userinfo_failed: { message: "PeeringDB did not send your profile.", hint: "Try again in a few minutes." },
  user_not_verified: { message: "Your PeeringDB account or its e-mail address is not verified.", hint: "Verify both on PeeringDB, then log in again." },
  no_eligible_networks: { message: "Your PeeringDB account holds no network you may act for here.", hint: "Ask your organisation's PeeringDB admin for update permission on the network." },
  // join requests
  asn_not_authorized: { message: "You do not hold this ASN.", hint: "Pick one of the ASNs listed, or log in again to refresh them from PeeringDB." },
  network_not_found: { message: "This IX network does not exist." },
  network_not_authorized: { message: "You may not join this IX network.", hint: "Ask the IX team for access." },
  asn_not_eligible: { message: "This IX's policy does not accept this ASN.", hint: "The reason is shown below; contact the IX team if you think it is wrong." },
  network_not_eligible: { message: "This IX's policy does not accept this ASN on this network.", hint: "The reason is shown below; contact the IX team if you think it is wrong." },
  duplicate_open_request: { message: "You already have an open request for this ASN, network and node." },
  node_in_use: { message: "Another member already uses this ZeroTier node on this IX network.", hint: "Check the node ID with `zerotier-cli info` on your router; if the node is yours, contact the IX team." },
  node_reserved: { message: "This ZeroTier node belongs to the IX's own equipment and cannot be requested.", hint: "Enter your router's node ID, as `zerotier-cli info` prints it." },
  invalid_transition: { message: "The request has moved on and no longer allows this.", hint: "The page now shows its current state." },
  request_not_found: { message: "This request does not exist, or is not yours." },
  user_exists: { message: "A user with this name already exists." },
  // ZeroTier
  controller_error: { message: "ZeroTier answered with an error.", hint: "Look at the controller page; retry once it is ready." },
  controller_auth_failed: { message: "The ZeroTier controller refused ZT-IX's API token.", hint: "Fix the token (`ztix controller reload-token`), then retry." },
  controller_not_found: { message: "The IX network does not exist on the ZeroTier controller.", hint: "Run `ztix controller preflight`, then retry." },
  controller_rejected: { message: "ZeroTier refused or altered the change.", hint: "Check the controller's state, then retry." },
  controller_unavailable: { message: "The ZeroTier controller could not be reached.", hint: "ZT-IX keeps retrying; retry by hand once the controller answers." },
  controller_rate_limited: { message: "ZeroTier asked ZT-IX to slow down.", hint: "ZT-IX retries by itself shortly." },
  address_plan_exhausted: { message: "No peering-LAN address is left on this network.", hint: "The IX team must widen the prefix or free addresses." },
  route_server_apply_failed: { message: "A route server did not take its new configuration.", hint: "Look at the route servers page for the failing stage." },
  route_server_not_found: { message: "No such route server." },
  invalid_bgp_password: { message: "That BGP password cannot be used.", hint: "Use 8 to 80 characters: letters, digits and ! # % * + , - . / : = @ ^ _ ~ (no spaces or quotes)." },
  bgp_password_unavailable: { message: "This IX does not store BGP session passwords.", hint: "Ask the IX team; they need to configure routeservers.password_keys." },
  route_server_unavailable: { message: "The route server did not answer just now.", hint: "Try again in a moment." },
  irr_as_set_invalid: { message: "That is not a list of AS-SET names or ASNs.", hint: "Write entries such as RIPE::AS-EXAMPLE, AS-EXAMPLE@RADB or AS64500, separated by spaces or commas." },
  irr_disabled: { message: "IRR filtering is not enabled on this IX." },
  irr_refresh_running: { message: "An IRR refresh is already running.", hint: "Wait for it to finish, then look again." },
  invalid_prefix: { message: "That is not a valid prefix for this session.", hint: "Write a prefix such as 192.0.2.0/24 or 2001:db8::/32, in the session's address family." },
  route_server_disabled: { message: "This route server is disabled in the configuration." },
  route_server_pair_drained: { message: "Another route server of this network is already drained.", hint: "Undrain it first: members must always have one preferred route server." },
  user_not_found: { message: "No such user." },
};

const FALLBACK: ErrorText = { message: "Something went wrong.", hint: "Try again in a moment." };

/** The sentence (and hint) for an error of any kind. */
export function describeError(error: unknown): ErrorText {
  if (isApiError(error)) {
    const known = ERROR_TEXT[error.code];
    if (known) return known;
    return { message: error.detail || FALLBACK.message, hint: FALLBACK.hint };
  }
  return FALLBACK;
}

/** The sentence for a bare code (a request's `last_error.code`, a login callback). */
export function describeCode(code: string | null | undefined): ErrorText {
  return (code && ERROR_TEXT[code]) || FALLBACK;
}
