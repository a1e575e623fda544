"""The controller's 400-after-401 quirk, and token rotation with work in flight, against the
emulator and the real zerotier-one 1.14.1 (issue 13 part 1)."""

from __future__ import annotations

import http.client
import json
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from tests.support.jobs import actions, load, run_until_settled, submit
from tests.support.zt_fixtures import ControllerTarget, QueueDispatcher, target_settings
from ztix.db.models import JoinRequest
from ztix.db.session import Database
from ztix.jobs.context import build_controller
from ztix.jobs.tasks import JobContext
from ztix.zerotier.controller import ControllerProvider, ControllerSettings
from ztix.zerotier.provider import MemberSpec, ProviderAuthFailed, ProviderUnavailable

ROTATIONS = 20
WORKERS = 4


def _raw(target: ControllerTarget) -> http.client.HTTPConnection:
    url = urlsplit(target.url)
    return http.client.HTTPConnection(url.hostname or "", url.port, timeout=5)


def _refused_then_good(target: ControllerTarget, nwid: str, token: str) -> tuple[int, bytes]:
    """A POST with a wrong token, then a good GET, on one keep-alive connection."""
    conn = _raw(target)
    try:
        conn.request(
            "POST",
            f"/controller/network/{nwid}/member/0123456789",
            body=json.dumps({"authorized": True, "ipAssignments": ["192.0.2.1"]}),
            headers={"X-ZT1-Auth": "wrong", "Content-Type": "application/json"},
        )
        refused = conn.getresponse()
        refused.read()
        assert refused.status == 401
        conn.request("GET", f"/controller/network/{nwid}/member", headers={"X-ZT1-Auth": token})
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def test_a_refused_post_spoils_its_connection(controller_target: ControllerTarget) -> None:
    """The quirk itself, on raw connections: the emulator shows it (always) as the real
    controller does (nearly always: it races with the unread body), so the adapter's
    handling is tested against both."""
    token = controller_target.token_file.read_text().strip()
    nwid = controller_target.address + "00a401"
    with controller_target.provider() as zt:
        zt.set_network(nwid, {"name": "quirk"})
    if controller_target.name == "emulator":
        answers = [_refused_then_good(controller_target, nwid, token) for _ in range(10)]
        assert answers == [(400, b"")] * 10
        return
    # The real one races: 13 of 20 on an idle machine, far fewer on a loaded one. Try until
    # it shows (bounded), every answer being one of the two.
    answers = []
    while len(answers) < 60 and (400, b"") not in answers:
        answers.append(_refused_then_good(controller_target, nwid, token))
    assert set(answers) <= {(400, b""), (200, b"{}")}, answers
    assert (400, b"") in answers, answers


def test_a_bad_token_never_reads_as_a_rejection(controller_target: ControllerTarget) -> None:
    """Refused writes and reads, one after another through one client: every answer is
    'auth failed', never the empty 400 a reused connection would get."""
    nwid = controller_target.address + "00a402"
    with controller_target.provider() as zt:
        zt.set_network(nwid, {"name": "quirk"})
    settings = ControllerSettings(url=controller_target.url, token="not-the-token-0000")
    with ControllerProvider(settings) as bad:
        for _ in range(10):
            for call in (
                lambda: bad.ensure_member(MemberSpec(nwid, "0123456789", True, ("192.0.2.9",))),
                lambda: bad.list_members(nwid),
            ):
                try:
                    call()
                except ProviderAuthFailed:
                    continue
                raise AssertionError("a bad token was not refused as such")


def test_a_controller_shutting_down_is_unavailable_not_a_bad_token(
    controller_target: ControllerTarget,
) -> None:
    """Between SIGTERM and exit zerotier-one refuses every call with 401, the open /health
    too: the adapter reports it as unavailable (retried), not as a refused token."""
    nwid = controller_target.address + "00a403"
    with controller_target.provider() as zt:
        zt.set_network(nwid, {"name": "quirk"})
        with controller_target.shutting_down():
            for call in (
                lambda: zt.ensure_member(MemberSpec(nwid, "0123456789", True, ("192.0.2.9",))),
                lambda: zt.list_members(nwid),
            ):
                with pytest.raises(ProviderUnavailable, match="shutting down") as caught:
                    call()
                assert caught.value.retryable is True
        # The real one may have applied the refused write all the same: only the retry's
        # read-back counts.
        member = zt.ensure_member(MemberSpec(nwid, "0123456789", True, ("192.0.2.9",)))
        assert member.authorized and member.ip_assignments == ("192.0.2.9",)


def test_token_rotations_with_requests_in_flight(
    controller_target: ControllerTarget, database: Database
) -> None:
    """20 rotations of the token file (the real controller restarted on each) while approved
    requests are being provisioned: none fails, none is provisioned twice."""
    settings = target_settings(
        controller_target,
        database,
        jobs={
            "lease_seconds": 30,
            "retry": {"base_seconds": 0.05, "cap_seconds": 0.5, "max_attempts": 60},
        },
    )
    controller_target.set_latency(0.05)  # every call spends a while in flight
    contexts = [
        JobContext(settings, database, build_controller(settings), QueueDispatcher())
        for _ in range(WORKERS)
    ]
    rids: list[uuid.UUID] = []
    try:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            futures = []
            for i in range(ROTATIONS):
                batch = [
                    submit(database, settings, asn=213035 if j else 13335, node=f"ab{i:04d}{j:04d}")
                    for j in range(2)
                ]
                rids += batch
                futures += [
                    pool.submit(run_until_settled, contexts[n % WORKERS], rid, 400)
                    for n, rid in enumerate(batch, start=len(rids))
                ]
                time.sleep(0.02)  # the batch is on its way
                controller_target.rotate_token(f"rotated-{i:02d}-{secrets.token_hex(8)}")
                # A call survives one rotation during its round trip, not two: rotations
                # come a few round trips apart (real ones are hours apart).
                time.sleep(0.2)
            for future in futures:
                future.result()
    finally:
        for ctx in contexts:
            ctx.provider.close()

    statuses = [load(database, rid).status for rid in rids]
    assert statuses.count("active") == len(rids), statuses
    with database.session() as db:
        failed = db.scalars(select(JoinRequest).where(JoinRequest.status == "failed")).all()
        assert failed == []
    for rid in rids:
        assert actions(database, rid).count("provisioning.started") == 1
    nwid = settings.networks[0].zt_network_id or ""
    with controller_target.provider() as zt:
        members = zt.list_members(nwid)
        assert len(members) == len(rids)
        for rid in rids:
            request = load(database, rid)
            member = zt.get_member(nwid, request.node_id)
            assert member is not None and member.authorized
            assert sorted(member.ip_assignments) == sorted(a.address for a in request.addresses)
