"""Every route needs a live API token; TLS serves the same API."""

from __future__ import annotations

import httpx
import pytest
from service_testkit import Lab

from provider.settings import Settings
from provider.store.vaultstore import VaultStore
from provider.vault.tokens import ApiTokens

HINT = "create a token with `srp vault token create NAME`"


def _tokens(lab: Lab) -> ApiTokens:
    store = VaultStore.open(Settings.from_env({"SRP_HOME": str(lab.home)}))
    return ApiTokens(store)


@pytest.mark.parametrize("path", ["/fabrics", "/openapi.json", "/docs", "/no-such-route"])
def test_no_token_is_refused_with_401_json(lab: Lab, path: str) -> None:
    response = httpx.get(lab.url + path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="srp"'
    assert response.json() == {
        "error": {
            "type": "CredentialsError",
            "message": "the request has no 'Authorization: Bearer <token>' header",
            "hint": HINT,
        }
    }


def test_wrong_token_is_refused(lab: Lab) -> None:
    with lab.client(token="srp_not-a-real-token") as client:
        response = client.get("/fabrics")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "the API token is not known to this vault"


def test_revoked_token_is_refused_from_the_next_request(lab: Lab) -> None:
    tokens = _tokens(lab)
    issued = tokens.create_token("ci")
    with lab.client(token=issued.token.reveal()) as client:
        assert client.get("/fabrics").status_code == 200
        tokens.revoke_token("ci")
        response = client.get("/fabrics")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "the API token 'ci' was revoked"


def test_openapi_document_is_served_with_a_token(lab: Lab) -> None:
    with lab.client() as client:
        document = client.get("/openapi.json").json()
    assert {"/fabrics", "/items", "/jobs/{job_id}/resume", "/mappings/networks"} <= set(
        document["paths"]
    )


def test_tls_serves_the_api_to_a_client_trusting_the_ca(tls_lab: Lab) -> None:
    assert tls_lab.url.startswith("https://127.0.0.1:")
    with tls_lab.client() as client:
        assert client.get("/fabrics").json() == []


def test_tls_refuses_a_client_that_does_not_trust_the_ca(tls_lab: Lab) -> None:
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(tls_lab.url + "/fabrics", headers={"Authorization": f"Bearer {tls_lab.token}"})
