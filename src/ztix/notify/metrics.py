"""Outbox gauges for ``/metrics``, read from the ``notifications`` table at scrape time (so
the API shows the backlog whichever process delivers):

- ``ztix_notifications_outbox{channel,state}``: rows by channel (``email``, ``webhook``)
  and state: ``pending`` (waiting to be sent, retries included), ``retrying`` (pending
  after at least one failed attempt) and ``gave_up`` (failed for good, kept for the log)
- ``ztix_notifications_oldest_pending_age_seconds{channel}``: age of the oldest pending row
  (0 when none): a backlog that only grows means the mail server or receivers are down
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select

from ztix.db.base import utcnow
from ztix.db.models import Notification
from ztix.db.session import Database, rows_for_scrape

CHANNELS = ("email", "webhook")
STATES = ("pending", "retrying", "gave_up")


class OutboxCollector(Collector):
    def __init__(self, database: Database) -> None:
        self.database = database

    def describe(self) -> Iterable[Metric]:
        """The names, without reading the database (a registry asks at registration)."""
        return list(_families())

    def collect(self) -> Iterable[Metric]:
        failed_before = case((Notification.attempts > 0, 1), else_=0)
        rows = rows_for_scrape(
            self.database,
            "the notification outbox",
            select(
                Notification.channel,
                Notification.status,
                func.count(),
                func.sum(failed_before),
                func.min(Notification.created_at),
            )
            .where(Notification.status.in_(("pending", "gave_up")))
            .group_by(Notification.channel, Notification.status),
        )
        if rows is None:
            return []
        now = utcnow()
        counts = {(c, s): 0 for c in CHANNELS for s in STATES}
        oldest = dict.fromkeys(CHANNELS, 0.0)
        for channel, status, count, retried, first in rows:
            counts[(channel, status)] = int(count)
            if status == "pending":
                counts[(channel, "retrying")] = int(retried or 0)
                if first is not None:
                    oldest[channel] = max(0.0, (now - first).total_seconds())
        outbox, age = _families()
        for (channel, state), count in sorted(counts.items()):
            outbox.add_metric([channel, state], count)
        for channel, seconds in sorted(oldest.items()):
            age.add_metric([channel], seconds)
        return [outbox, age]


def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
    """The outbox and the oldest pending age, empty."""
    outbox = GaugeMetricFamily(
        "ztix_notifications_outbox",
        "Notifications in the outbox by channel and state (pending: not sent yet; "
        "retrying: pending after a failed attempt; gave_up: failed for good)",
        labels=["channel", "state"],
    )
    age = GaugeMetricFamily(
        "ztix_notifications_oldest_pending_age_seconds",
        "Age of the oldest notification still waiting to be sent (0 when none)",
        labels=["channel"],
    )
    return outbox, age
