"""The PeeringDB OIDC client against a local PeeringDB-like provider, over real HTTP."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from tests.support.oidc_provider import FakePeeringDB, FakeUser, network
from ztix.auth.identity import (
    PeeringDBIdentity,
    PeeringDBNetwork,
    check_verified,
    eligible_networks,
)
from ztix.auth.peeringdb import PeeringDBClient
from ztix.errors import AppError

REDIRECT_URI = "http://127.0.0.1:8000/auth/callback"


@pytest.fixture(scope="module")
def provider() -> Iterator[FakePeeringDB]:
    with FakePeeringDB(redirect_uris=[REDIRECT_URI]) as fake:
        yield fake


@pytest.fixture
def fake(provider: FakePeeringDB) -> FakePeeringDB:
    provider.reset()
    return provider


@pytest.fixture
def client(fake: FakePeeringDB) -> Iterator[PeeringDBClient]:
    with PeeringDBClient(fake.config()) as pdb:
        yield pdb


def authorize(client: PeeringDBClient) -> tuple[dict[str, str], str, str]:
    """Run the browser's part: GET the authorize URL, read the redirect's query."""
    start = client.start()
    response = httpx.get(start.authorize_url, follow_redirects=False)
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert params["state"] == start.state
    return params, start.nonce, start.code_verifier


def login(client: PeeringDBClient) -> PeeringDBIdentity:
    params, nonce, verifier = authorize(client)
    return client.complete(params["code"], nonce=nonce, code_verifier=verifier)


def fails(client: PeeringDBClient, code: str) -> AppError:
    with pytest.raises(AppError) as caught:
        login(client)
    assert caught.value.code == code, caught.value.detail
    return caught.value


# -- the happy path ------------------------------------------------------------------------


def test_login_returns_the_identity_with_networks(
    fake: FakePeeringDB, client: PeeringDBClient
) -> None:
    fake.user = FakeUser(
        id=77,
        given_name="Grace",
        family_name="Hopper",
        email="grace@example.net",
        networks=[network(213035, 15, id=1, name="Example"), network(13335, 1, id=2)],
    )
    identity = login(client)
    assert identity == PeeringDBIdentity(
        sub="77",
        id=77,
        name="Grace Hopper",
        email="grace@example.net",
        email_verified=True,
        verified_user=True,
        networks=(
            PeeringDBNetwork(id=1, name="Example", asn=213035, perms=15),
            PeeringDBNetwork(id=2, name="Network AS13335", asn=13335, perms=1),
        ),
    )
    check_verified(identity)
    assert fake.userinfo_requests == 1


def test_authorization_request_carries_pkce_nonce_and_all_scopes(
    fake: FakePeeringDB, client: PeeringDBClient
) -> None:
    start = client.start()
    query = {k: v[0] for k, v in parse_qs(urlsplit(start.authorize_url).query).items()}
    assert urlsplit(start.authorize_url).path == "/oauth2/authorize/"
    assert query == {
        "response_type": "code",
        "client_id": fake.client_id,
        "redirect_uri": fake.redirect_uris[0],
        "scope": "openid profile email networks",
        "state": start.state,
        "nonce": start.nonce,
        "code_challenge": create_s256_code_challenge(start.code_verifier),
        "code_challenge_method": "S256",
    }
    assert 43 <= len(start.code_verifier) <= 128
    again = client.start()
    assert {again.state, again.nonce, again.code_verifier}.isdisjoint(
        {start.state, start.nonce, start.code_verifier}
    )


def test_discovery_and_keys_are_fetched_once(fake: FakePeeringDB, client: PeeringDBClient) -> None:
    login(client)
    login(client)
    assert (fake.discovery_requests, fake.jwks_requests) == (1, 1)


def test_rotated_signing_key_is_picked_up_by_refetching_the_jwks(
    fake: FakePeeringDB, client: PeeringDBClient
) -> None:
    login(client)
    fake.rotate_signing_key()
    assert login(client).sub == "4242"
    assert fake.jwks_requests == 2


def test_networks_claim_is_also_accepted_from_the_id_token(
    fake: FakePeeringDB, client: PeeringDBClient
) -> None:
    fake.networks_claim_in = "id_token"
    assert [n.asn for n in login(client).networks] == [213035]


# -- eligibility and verification ----------------------------------------------------------


def test_perms_mask_selects_networks(fake: FakePeeringDB, client: PeeringDBClient) -> None:
    fake.user = FakeUser(
        networks=[network(64501, perms=1), network(64502, perms=15), network(64503, perms=3)]
    )
    identity = login(client)
    assert [n.asn for n in eligible_networks(identity, 2)] == [64502, 64503]
    assert [n.asn for n in eligible_networks(identity, 1)] == [64501, 64502, 64503]
    assert [n.asn for n in eligible_networks(identity, 2 | 4)] == [64502]


def test_null_networks_claim_means_no_networks(
    fake: FakePeeringDB, client: PeeringDBClient
) -> None:
    fake.withheld_scopes = {"networks"}
    identity = login(client)
    assert identity.networks == ()
    assert eligible_networks(identity, 2) == []


def test_null_networks_even_with_the_scope_granted(
    fake: FakePeeringDB, client: PeeringDBClient
) -> None:
    fake.user = FakeUser(networks=None)
    assert login(client).networks == ()


def test_unverified_user_is_refused(fake: FakePeeringDB, client: PeeringDBClient) -> None:
    fake.user = FakeUser(verified_user=False)
    identity = login(client)
    assert identity.verified_user is False
    with pytest.raises(AppError) as caught:
        check_verified(identity)
    assert caught.value.code == "user_not_verified"


def test_unverified_email_is_refused(fake: FakePeeringDB, client: PeeringDBClient) -> None:
    fake.user = FakeUser(email_verified=False)
    identity = login(client)
    with pytest.raises(AppError) as caught:
        check_verified(identity)
    assert caught.value.code == "user_not_verified"


def test_null_email_claims_when_email_scope_withheld(
    fake: FakePeeringDB, client: PeeringDBClient
) -> None:
    fake.withheld_scopes = {"email"}
    identity = login(client)
    assert (identity.email, identity.email_verified) == (None, False)
    with pytest.raises(AppError) as caught:
        check_verified(identity)
    assert caught.value.code == "user_not_verified"


# -- client authentication and PKCE --------------------------------------------------------


def test_client_authenticates_with_client_secret_post(
    fake: FakePeeringDB, client: PeeringDBClient
) -> None:
    login(client)
    (request,) = fake.token_requests
    assert request.authorization is None
    assert request.form["client_id"] == fake.client_id
    assert request.form["client_secret"] == fake.client_secret
    assert request.form["grant_type"] == "authorization_code"
    assert request.form["redirect_uri"] == fake.redirect_uris[0]
    assert len(request.form["code_verifier"]) >= 43


def test_provider_refuses_basic_client_authentication(
    fake: FakePeeringDB, client: PeeringDBClient
) -> None:
    params, _, verifier = authorize(client)
    response = httpx.post(
        f"{fake.issuer}/token/",
        auth=(fake.client_id, fake.client_secret),
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": fake.redirect_uris[0],
            "code_verifier": verifier,
        },
    )
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}


def test_wrong_code_verifier_fails_the_exchange(client: PeeringDBClient) -> None:
    params, nonce, _ = authorize(client)
    with pytest.raises(AppError) as caught:
        client.complete(params["code"], nonce=nonce, code_verifier="x" * 64)
    assert caught.value.code == "token_exchange_failed"
    assert caught.value.extra["provider_error"] == "invalid_grant"


def test_code_is_single_use(client: PeeringDBClient) -> None:
    params, nonce, verifier = authorize(client)
    client.complete(params["code"], nonce=nonce, code_verifier=verifier)
    with pytest.raises(AppError) as caught:
        client.complete(params["code"], nonce=nonce, code_verifier=verifier)
    assert caught.value.code == "token_exchange_failed"


def test_wrong_client_secret_fails_without_leaking_it(fake: FakePeeringDB) -> None:
    secret = "not-the-secret-but-still-secret"
    with PeeringDBClient(fake.config(client_secret=secret)) as pdb:
        error = fails(pdb, "token_exchange_failed")
    assert error.extra["provider_error"] == "invalid_client"
    assert error.extra["upstream_status"] == 401
    assert secret not in repr((error.detail, error.extra))


# -- ID token validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        ("unknown_key", "signature"),
        ("forged_signature", "signature"),
        ("tampered", "signature"),
        ("alg_none", "alg"),
        ("hs256_public_key", "alg"),
        ("wrong_aud", "aud"),
        ("azp_mismatch", "aud"),
        ("wrong_iss", "iss"),
        ("expired", "exp"),
        ("iat_future", "iat"),
        ("wrong_nonce", "nonce"),
        ("malformed", "malformed"),
    ],
)
def test_bad_id_token_is_refused(
    fake: FakePeeringDB, client: PeeringDBClient, fault: str, check: str
) -> None:
    fake.id_token_fault = fault  # type: ignore[assignment]
    error = fails(client, "id_token_invalid")
    assert error.extra == {"check": check}
    assert fake.userinfo_requests == 0


def test_unknown_key_refetches_the_jwks_once(fake: FakePeeringDB, client: PeeringDBClient) -> None:
    fake.id_token_fault = "unknown_key"
    fails(client, "id_token_invalid")
    assert fake.jwks_requests == 2


def test_nonce_of_another_login_is_refused(client: PeeringDBClient) -> None:
    _, other_nonce, _ = authorize(client)
    params, _, verifier = authorize(client)
    with pytest.raises(AppError) as caught:
        client.complete(params["code"], nonce=other_nonce, code_verifier=verifier)
    assert caught.value.extra == {"check": "nonce"}


def test_userinfo_for_another_subject_is_refused(
    fake: FakePeeringDB, client: PeeringDBClient
) -> None:
    fake.userinfo_fault = "other_sub"
    assert fails(client, "id_token_invalid").extra == {"check": "sub_mismatch"}


# -- provider failures ---------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["invalid_grant", "server_error", "no_id_token", "not_json"])
def test_token_endpoint_failure(fake: FakePeeringDB, client: PeeringDBClient, fault: str) -> None:
    fake.token_fault = fault  # type: ignore[assignment]
    error = fails(client, "token_exchange_failed")
    if fault == "invalid_grant":
        assert error.extra["provider_error"] == "invalid_grant"
        assert "invalid_grant" in error.detail
    if fault == "server_error":
        assert error.extra["upstream_status"] == 500


@pytest.mark.parametrize("fault", ["unauthorized", "server_error", "not_json"])
def test_userinfo_failure(fake: FakePeeringDB, client: PeeringDBClient, fault: str) -> None:
    fake.userinfo_fault = fault  # type: ignore[assignment]
    fails(client, "userinfo_failed")


def test_unreachable_discovery(fake: FakePeeringDB) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/oauth2/.well-known/openid-configuration"
    config = fake.config(discovery_url=url, http_timeout_seconds=2)
    with PeeringDBClient(config) as pdb, pytest.raises(AppError) as caught:
        pdb.start()
    assert caught.value.code == "provider_unavailable"


@pytest.mark.parametrize("document", ["discovery", "jwks"])
@pytest.mark.parametrize("fault", ["server_error", "not_json"])
def test_broken_provider_documents(
    fake: FakePeeringDB, client: PeeringDBClient, document: str, fault: str
) -> None:
    setattr(fake, f"{document}_fault", fault)
    with pytest.raises(AppError) as caught:
        client.discover()
    assert caught.value.code == "provider_unavailable"


def test_failed_discovery_is_not_cached(fake: FakePeeringDB, client: PeeringDBClient) -> None:
    fake.discovery_fault = "server_error"
    with pytest.raises(AppError):
        client.start()
    fake.discovery_fault = None
    assert login(client).id == 4242


def test_http_provider_is_refused_unless_allowed(fake: FakePeeringDB) -> None:
    config = fake.config(allow_insecure_http=False)
    with PeeringDBClient(config) as pdb, pytest.raises(AppError) as caught:
        pdb.start()
    assert caught.value.code == "provider_unavailable"
    assert fake.discovery_requests == 0


def test_https_discovery_listing_http_endpoints_is_refused(fake: FakePeeringDB) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "issuer": "https://auth.example.net/oauth2",
                "authorization_endpoint": "https://auth.example.net/oauth2/authorize/",
                "token_endpoint": "http://auth.example.net/oauth2/token/",
                "userinfo_endpoint": "https://auth.example.net/oauth2/userinfo/",
                "jwks_uri": "https://auth.example.net/oauth2/.well-known/jwks.json",
            },
        )

    config = fake.config(
        discovery_url="https://auth.example.net/oauth2/.well-known/openid-configuration",
        allow_insecure_http=False,
    )
    transport = httpx.MockTransport(handler)
    with PeeringDBClient(config, transport=transport) as pdb, pytest.raises(AppError) as caught:
        pdb.discover()
    assert caught.value.code == "provider_unavailable"
    assert "token_endpoint" in caught.value.detail


def test_secrets_and_tokens_stay_out_of_logs(
    fake: FakePeeringDB, client: PeeringDBClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    login(client)
    fake.id_token_fault = "wrong_aud"
    fails(client, "id_token_invalid")
    fake.id_token_fault = None
    fake.token_fault = "invalid_grant"
    fails(client, "token_exchange_failed")
    assert caplog.records, "the failures above are logged"
    secrets = [fake.client_secret, *fake.issued_tokens]
    # (Codes are not secrets of the same kind: they travel in the browser's URL, single-use.)
    secrets += [request.form["code_verifier"] for request in fake.token_requests]
    assert len(secrets) > 5
    leaked = [s for s in secrets if s in caplog.text]
    assert leaked == []


def test_the_http_client_is_made_at_the_first_request(fake: FakePeeringDB) -> None:
    """A site that never logs in with PeeringDB holds no HTTP client (its TLS context and CA
    bundle); the first request makes the one pooled client, and a closed client refuses to
    send as httpx's does."""
    pdb = PeeringDBClient(fake.config())
    assert pdb._client is None
    pdb.discover()
    made = pdb._client
    assert made is not None
    assert pdb._http is made  # one client, pooled, for every later request
    pdb.close()
    assert made.is_closed
    with pytest.raises(RuntimeError, match="closed"):
        pdb._http.get(fake.config().discovery_url)
    PeeringDBClient(fake.config()).close()  # never used: nothing to close, no error
