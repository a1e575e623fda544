"""The job runner: in-process threads or Celery on Redis."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ztix.config.base import Strict


class RetryConfig(Strict):
    """Exponential back-off with jitter for retryable failures."""

    base_seconds: float = Field(2, gt=0)
    cap_seconds: float = Field(300, gt=0)
    max_attempts: int = Field(8, ge=1, le=100)


class JobsConfig(Strict):
    # inprocess: a thread pool inside `ztix serve` (embedded default, no Redis).
    # celery: Celery workers on Redis (`ztix worker`); the API only enqueues.
    runner: Literal["inprocess", "celery"] = "inprocess"
    broker_url: str = "redis://127.0.0.1:6379/0"
    # The reconciler re-dispatches lost work and repairs drift this often.
    reconcile_interval_seconds: float = Field(30, gt=0)
    # A worker holds a request this long; past it, another may take the request over.
    lease_seconds: float = Field(120, gt=0)
    worker_threads: int = Field(4, ge=1, le=64)
    retry: RetryConfig = RetryConfig()
    # `ztix worker` serves Prometheus metrics (its jobs' calls and outcomes) on this
    # address and port, at /metrics; 0 turns the endpoint off.
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(9809, ge=0, le=65535)
