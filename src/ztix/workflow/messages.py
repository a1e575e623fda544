"""What notifications say: the e-mail (plain text and HTML) and the webhook's JSON of each
event, from the facts queued with it and, for an active member, the membership as it is
when the message is sent (addresses, route-server sessions, the join command)."""

from __future__ import annotations

import html
from typing import Any

from ztix.config import Settings
from ztix.db.models import JoinRequest
from ztix.notify import Mail

__all__ = ["Mail", "mail", "webhook_body"]

SUBJECTS = {
    ("member", "request.approved"): "Approved: AS{asn} on {network_name}",
    ("member", "request.rejected"): "Not approved: AS{asn} on {network_name}",
    ("member", "request.active"): "Connected: AS{asn} is live on {network_name}",
    ("member", "request.failed"): "Connection failed: AS{asn} on {network_name}",
    ("member", "request.removed"): "Removed: AS{asn} has left {network_name}",
    ("admin", "request.submitted"): "New request: AS{asn} on {network_name}",
    ("admin", "request.failed"): "Provisioning failed: AS{asn} on {network_name}",
}

OPENINGS = {
    ("member", "request.approved"): "Your request to join {network_name} as AS{asn} was approved. "
    "ZT-IX is connecting node {node_id} now; you will hear again when it is live.",
    ("member", "request.rejected"): "Your request to join {network_name} as AS{asn} "
    "was not approved.",
    ("member", "request.active"): "AS{asn} is connected to {network_name} with node {node_id}.",
    ("member", "request.failed"): "Connecting node {node_id} of AS{asn} to {network_name} "
    "failed. The IX team has been told and will retry.",
    ("member", "request.removed"): "Node {node_id} of AS{asn} has left {network_name}: it is "
    "deauthorized, its addresses are released and its BGP sessions removed.",
    ("admin", "request.submitted"): "AS{asn} asks to join {network_name} with node {node_id}.",
    ("admin", "request.failed"): "Provisioning node {node_id} of AS{asn} on {network_name} failed.",
}


def _link(settings: Settings, payload: dict[str, Any]) -> str:
    base = settings.notifications.base_url.rstrip("/")
    admin = "/admin" if payload.get("audience") == "admin" else ""
    return f"{base}{admin}/requests/{payload['request_id']}"


def membership(settings: Settings, request: JoinRequest | None) -> dict[str, Any] | None:
    """An active member's connection details, as they are now."""
    if request is None or request.status != "active":
        return None
    nwid = request.network.zt_network_id
    return {
        "ipv4": request.address(4),
        "ipv6": request.address(6),
        "join_command": f"zerotier-cli join {nwid}",
        "route_servers": [
            {"name": rs.name, "asn": rs.asn, "ipv4": str(rs.ipv4), "ipv6": str(rs.ipv6)}
            for rs in settings.route_servers_of(nwid)
        ],
    }


def _lines(settings: Settings, payload: dict[str, Any], request: JoinRequest | None) -> list[str]:
    key = (payload["audience"], payload["event"])
    lines = [OPENINGS[key].format(**payload)]
    if payload.get("reason"):
        lines.append(f"Reason: {payload['reason']}")
    if payload.get("error"):
        lines.append(f"Error: {payload['error']}")
    details = membership(settings, request) if payload["event"] == "request.active" else None
    if details:
        lines.append(f"Join the network on your router: {details['join_command']}")
        v4, v6 = details["ipv4"] or "-", details["ipv6"] or "-"
        lines.append(f"Your peering addresses: {v4} and {v6}")
        for rs in details["route_servers"]:
            lines.append(
                f"Route server {rs['name']} (AS{rs['asn']}): BGP sessions to {rs['ipv4']} "
                f"and {rs['ipv6']}"
            )
    return lines


def mail(settings: Settings, payload: dict[str, Any], request: JoinRequest | None, to: str) -> Mail:
    key = (payload["audience"], payload["event"])
    subject = "[ZT-IX] " + SUBJECTS[key].format(**payload)
    lines = _lines(settings, payload, request)
    link = _link(settings, payload)
    text = "\n\n".join([*lines, f"The request: {link}", _FOOTER]) + "\n"
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    markup = (
        f"<!doctype html><html><body>{body}"
        f'<p><a href="{html.escape(link, quote=True)}">Open the request</a></p>'
        f"<p><small>{html.escape(_FOOTER)}</small></p></body></html>"
    )
    return Mail(to=to, subject=subject, text=text, html=markup)


_FOOTER = "You get this because of your ZT-IX account; turn e-mail off under Notifications."


def webhook_body(
    settings: Settings, payload: dict[str, Any], request: JoinRequest | None, *, delivery: int
) -> dict[str, Any]:
    body = {
        "event": payload["event"],
        "delivery": delivery,
        "occurred_at": payload["occurred_at"],
        "request": {
            k: payload.get(k)
            for k in ("request_id", "asn", "zt_network_id", "network_name", "node_id", "status")
        },
        "url": _link(settings, payload),
    }
    if payload.get("reason"):
        body["reason"] = payload["reason"]
    if payload.get("error"):
        body["error"] = payload["error"]
    if payload["event"] == "request.active":
        body["membership"] = membership(settings, request)
    return body
