"""Benchmark: the notification outbox, writing and delivering.

    uv run python -m bench.notifications [--requests 300]

On SQLite (a file in a temporary directory): one admin with an e-mail address and one
member with one, N join requests created and rejected through the service layer (each
change writes its outbox rows in its own transaction: 2 admin rows on creation, 1 member
row on rejection), timed once with the outbox rows and reported per change; then every
queued message delivered by the delivery job's passes (``deliver_due``, batches of
``notifications.batch_size``) to an aiosmtpd server on a loopback port: messages a second.
Prints the figures; ``docs/performance.md`` quotes them by hand.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from ztix.config import Settings
from ztix.db import migrate
from ztix.db.models import Notification
from ztix.db.session import Database
from ztix.notify import SmtpMailer, WebhookSender
from ztix.workflow import audit, networks, outbox, users
from ztix.workflow import requests as service

NWID = "8056c2e21c000001"


class _Count:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        self.count += 1
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    n = args.requests
    with tempfile.TemporaryDirectory() as tmp:
        handler = _Count()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        smtp = Controller(handler, hostname="127.0.0.1", port=port)
        smtp.start()
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'bench.sqlite3'}",
            networks=[
                {
                    "zt_network_id": NWID,
                    "name": "Bench",
                    "ipv4_prefix": "10.0.0.0/16",
                    "ipv6_prefix": "2001:db8:ff::/64",
                }
            ],
            peeringdb={"enabled": False},
            workflow={"approval_mode": "manual_admin", "allow_private_asns": True},
            notifications={
                "smtp": {"host": "127.0.0.1", "port": port, "security": "none"},
                "admin_emails": ["noc@bench.example"],
                "batch_size": 50,
            },
        )
        migrate.upgrade(settings.database_url)
        database = Database(settings.database_url)
        with database.session() as db:
            networks.sync_networks(db, audit.SYSTEM, settings.networks)
            users.create_local_user(
                db,
                audit.CLI,
                username="root",
                password="x" * 12,
                admin=True,
                email="root@bench.example",
            )
            member = users.create_local_user(
                db,
                audit.CLI,
                username="m",
                password="x" * 12,
                asns=[64512],
                email="m@bench.example",
            )
            member_id = member.id
        root = audit.Actor(name="root")
        started = time.perf_counter()
        for i in range(n):
            with database.session() as db:
                user = db.get(type(member), member_id)
                assert user is not None
                request = service.create_request(
                    db,
                    settings,
                    user,
                    audit.Actor.for_user(user),
                    asn=64512,
                    zt_network_id=NWID,
                    node_id=f"{0xA000000000 + i:010x}",
                )
                rid = request.id
            with database.session() as db:
                service.reject(db, rid, root, "bench")
        write = time.perf_counter() - started
        with database.read_session() as db:
            rows = db.scalar(select(func.count()).select_from(Notification)) or 0
        sender = WebhookSender(settings.notifications)
        started = time.perf_counter()
        sent = 0
        while True:
            mailer = SmtpMailer(settings.notifications.smtp)
            outcome = outbox.deliver_due(
                database, settings, mailer, sender, secret_of=lambda s: None
            )
            if outcome.sent + outcome.failed + outcome.skipped == 0:
                break
            sent += outcome.sent
        deliver = time.perf_counter() - started
        sender.close()
        smtp.stop()
        database.dispose()
    print(f"{n} requests created and rejected ({2 * n} state changes), {rows} outbox rows")
    print(f"write: {write:.2f} s, {1000 * write / (2 * n):.2f} ms per change (outbox included)")
    print(
        f"deliver: {sent} messages ({handler.count} received) in {deliver:.2f} s, "
        f"{sent / deliver:.0f} messages/s"
    )


if __name__ == "__main__":
    main()
