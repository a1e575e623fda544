"""Helpers of the policy tests (fixtures stay in tests/api/conftest.py)."""

from __future__ import annotations

import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ztix.db.base import utcnow
from ztix.db.models import PeeringDBNetwork, User, UserAsn
from ztix.db.session import Database


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def grant_peeringdb(database: Database, username: str, asn: int, perms: int) -> None:
    """Give a user an ASN the way a PeeringDB login does (source peeringdb, with perms)."""
    with database.session() as db:
        user = db.query(User).filter_by(username=username).one()
        db.add(UserAsn(user_id=user.id, asn=asn, source="peeringdb", peeringdb_perms=perms))


def seed_peeringdb(
    database: Database,
    asn: int,
    *,
    found: bool = True,
    never_via_route_servers: bool = False,
    policy_general: str = "Open",
    age: timedelta = timedelta(0),
) -> None:
    """Put a PeeringDB `net` record in the cache, fetched ``age`` ago."""
    with database.session() as db:
        db.merge(
            PeeringDBNetwork(
                asn=asn,
                found=found,
                name=f"AS{asn} networks",
                info_never_via_route_servers=never_via_route_servers,
                policy_general=policy_general,
                fetched_at=utcnow() - age,
            )
        )


class PeeringDBRest:
    """PeeringDB's `net` endpoint: answers ``asn__in`` from ``nets``; counts requests."""

    def __init__(self) -> None:
        self.nets: dict[int, dict[str, Any]] = {}
        self.requests: list[str] = []
        self.status = 200
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append(self.path)
                url = urlsplit(self.path)
                asns = parse_qs(url.query).get("asn__in", [""])[0].split(",")
                data = [fake.nets[int(a)] for a in asns if a.isdigit() and int(a) in fake.nets]
                body = json.dumps({"data": data}).encode()
                self.send_response(fake.status if url.path == "/api/net" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/api"

    def add(self, asn: int, **fields: Any) -> None:
        self.nets[asn] = {
            "asn": asn,
            "name": f"AS{asn} networks",
            "info_prefixes4": 10,
            "info_prefixes6": 5,
            "irr_as_set": "",
            "info_never_via_route_servers": False,
            "policy_general": "Open",
            **fields,
        }

    def __enter__(self) -> PeeringDBRest:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# A policy that checks everything it can, for the API and end-to-end policy tests.
STRICT: dict[str, Any] = {
    "allowed_asns": ["213035", "13335", "3320-3330"],
    "denied_asns": ["3324-3326"],
    "peeringdb": {
        "require_record": True,
        "reject_never_via_route_servers": True,
        "min_policy_general": "Restrictive",
    },
    "auto_approval": {"required_peeringdb_perms": 2, "max_per_asn_per_day": 3},
}
