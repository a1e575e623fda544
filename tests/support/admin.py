"""Helpers of the admin tests: a request driven to a state the API cannot reach directly."""

from __future__ import annotations

import uuid

from ztix.db.session import Database
from ztix.domain.requests import RequestStatus
from ztix.workflow import audit
from ztix.workflow import requests as service


def force_failed(database: Database, request_id: str) -> None:
    """Drive a request to `failed` the way the provisioning job will."""
    with database.session() as db:
        request = service.lock_request(db, uuid.UUID(request_id))
        service.transition(
            db, request, RequestStatus.PROVISIONING, audit.SYSTEM, "provisioning.started"
        )
        request.attempts = 3
        request.last_error_code = "controller_unavailable"
        request.last_error_system = "zerotier"
        service.transition(db, request, RequestStatus.FAILED, audit.SYSTEM, "provisioning.gave_up")
