"""IRR gauges for ``/metrics``, read from the ``irr_data`` table at scrape time (so the API
shows what the workers stored, whichever process refreshed).

- ``ztix_irr_data_age_seconds{asn}``: age of the member's last good IRR data
- ``ztix_irr_last_attempt_failed{asn}``: 1 when the last expansion failed (data kept)
- ``ztix_irr_failures_total{asn}``: failed expansions since the member was first seen
- ``ztix_irr_members{state}``: members by state: ``ok``, ``failing``, ``never`` (no good data)
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import select

from ztix.db.base import utcnow
from ztix.db.models import IrrData
from ztix.db.session import Database, rows_for_scrape


class IrrCollector(Collector):
    def __init__(self, database: Database) -> None:
        self.database = database

    def describe(self) -> Iterable[Metric]:
        """The names, without reading the database (a registry asks at registration)."""
        return list(_families())

    def collect(self) -> Iterable[Metric]:
        rows = rows_for_scrape(
            self.database,
            "the IRR data",
            select(
                IrrData.asn,
                IrrData.fetched_at,
                IrrData.last_attempt_at,
                IrrData.last_error_code,
                IrrData.failures_total,
            ),
        )
        if rows is None:
            return []
        now = utcnow()
        age, failed, failures, members = _families()
        states = {"ok": 0, "failing": 0, "never": 0}
        for asn, fetched_at, attempted_at, error, total in rows:
            if attempted_at is None:
                continue  # an override set before any refresh
            if fetched_at is not None:
                age.add_metric([str(asn)], (now - fetched_at).total_seconds())
            failed.add_metric([str(asn)], 1 if error else 0)
            failures.add_metric([str(asn)], total or 0)
            states["never" if fetched_at is None else "failing" if error else "ok"] += 1
        for state, count in states.items():
            members.add_metric([state], count)
        return [age, failed, failures, members]


def _families() -> tuple[
    GaugeMetricFamily, GaugeMetricFamily, CounterMetricFamily, GaugeMetricFamily
]:
    """The four families, empty: data age, last attempt failed, failures, members by state."""
    age = GaugeMetricFamily(
        "ztix_irr_data_age_seconds",
        "Age of the member's last good IRR (AS-SET) data",
        labels=["asn"],
    )
    failed = GaugeMetricFamily(
        "ztix_irr_last_attempt_failed",
        "1 when the member's last IRR expansion failed (the last good data is kept)",
        labels=["asn"],
    )
    failures = CounterMetricFamily(
        "ztix_irr_failures", "Failed IRR expansions per member", labels=["asn"]
    )
    members = GaugeMetricFamily(
        "ztix_irr_members", "Members by the state of their IRR data", labels=["state"]
    )
    return age, failed, failures, members
