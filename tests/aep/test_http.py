from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
import responses

from aep import (
    AEPAPIError,
    AEPClient,
    AEPConnectionError,
    AEPError,
    AEPTimeout,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    IMSAuthError,
    MemoryTokenCache,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitError,
    ServerError,
)
from aep.http import build_session, error_for, retry_after_seconds
from emulators.process import free_port
from tests.aep.fakes import FLOW, TOKEN, TOKEN_URL, last_request, make_config

FLOW_ID = "84c64142-1741-4b0b-95a9-65644eba0cf6"
FLOW_URL = f"{FLOW}/flows/{FLOW_ID}"
GATEWAY_INVALID_TOKEN = {"error_code": "401013", "message": "Oauth token is not valid"}


def flow_problem(code: str, status: int, message: str) -> dict:
    """A Flow Service problem body as documented (notes §2.6)."""
    return {
        "type": f"https://ns.adobe.com/aep/errors/FLOW-{code}",
        "title": "Problem",
        "status": status,
        "report": {"detailed-message": message, "request-id": "req-from-body"},
        "errorMessage": message,
        "errorDetails": message,
    }


def test_every_call_carries_the_four_aep_headers(client, mocked):
    mocked.add(responses.DELETE, FLOW_URL, status=204)
    client.flowservice.delete_flow(FLOW_ID)
    headers = last_request(mocked).headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["x-api-key"] == "client-123"
    assert headers["x-gw-ims-org-id"] == "ORG123@AdobeOrg"
    assert headers["x-sandbox-name"] == "dev"
    assert "Content-Type" not in headers


def test_bodies_are_sent_as_json_with_content_type(client, mocked):
    mocked.add(responses.POST, f"{FLOW}/runs", status=201, json={"id": "r1", "etag": '"e"'})
    client.flowservice.create_run(
        FLOW_ID, window_start=datetime(2024, 1, 1, tzinfo=UTC), window_end=datetime.now(UTC)
    )
    assert last_request(mocked).headers["Content-Type"] == "application/json"


def test_the_configured_timeout_is_passed_on_every_call(mocked):
    config = make_config(timeout=(2, 7))
    mocked.add(responses.POST, TOKEN_URL, json={"access_token": "t", "expires_in": 60})
    mocked.add(responses.DELETE, FLOW_URL, status=204)
    AEPClient(config, token_cache=MemoryTokenCache()).flowservice.delete_flow(FLOW_ID)
    assert [c.request.req_kwargs["timeout"] for c in mocked.calls] == [(2, 7), (2, 7)]


def test_the_session_retries_connection_errors_only():
    retry = build_session().get_adapter("https://platform.test").max_retries
    assert retry.connect == 3
    assert retry.read == 0
    assert retry.status == 0
    assert not retry.status_forcelist


def test_an_unreachable_platform_raises_a_retryable_connection_error():
    # A closed loopback port: urllib3 retries the connect, then we map the failure.
    port = free_port()
    config = make_config(
        platform_url=f"http://127.0.0.1:{port}", ims_url=f"http://127.0.0.1:{port}"
    )
    client = AEPClient(config, token_cache=MemoryTokenCache(), session=build_session(1))
    with pytest.raises(AEPConnectionError) as excinfo:
        client.flowservice.get_flow(FLOW_ID)
    assert excinfo.value.retryable


def test_a_timeout_raises_aep_timeout(client, mocked):
    mocked.add(responses.GET, FLOW_URL, body=requests.ReadTimeout("slow"))
    with pytest.raises(AEPTimeout) as excinfo:
        client.flowservice.get_flow(FLOW_ID)
    assert isinstance(excinfo.value, AEPConnectionError)
    assert excinfo.value.retryable


def test_an_invalid_token_is_refreshed_and_the_call_retried_once(config, mocked):
    mocked.add(responses.POST, TOKEN_URL, json={"access_token": "old", "expires_in": 86399})
    mocked.add(responses.POST, TOKEN_URL, json={"access_token": "new", "expires_in": 86399})
    mocked.add(responses.DELETE, FLOW_URL, status=401, json=GATEWAY_INVALID_TOKEN)
    mocked.add(responses.DELETE, FLOW_URL, status=204)
    client = AEPClient(config, token_cache=MemoryTokenCache())

    client.flowservice.delete_flow(FLOW_ID)

    sent = [c.request for c in mocked.calls]
    assert [r.method for r in sent] == ["POST", "DELETE", "POST", "DELETE"]
    assert sent[1].headers["Authorization"] == "Bearer old"
    assert sent[3].headers["Authorization"] == "Bearer new"


def test_a_second_invalid_token_answer_is_raised(client, mocked):
    mocked.add(responses.DELETE, FLOW_URL, status=401, json=GATEWAY_INVALID_TOKEN)
    with pytest.raises(AuthenticationError) as excinfo:
        client.flowservice.delete_flow(FLOW_ID)
    assert excinfo.value.code == "401013"
    deletes = [c for c in mocked.calls if c.request.method == "DELETE"]
    assert len(deletes) == 2


def test_a_401_that_is_not_about_the_token_is_not_retried(client, mocked):
    body = flow_problem("2000-401", 401, "The organization is not provisioned")
    mocked.add(responses.DELETE, FLOW_URL, status=401, json=body)
    with pytest.raises(AuthenticationError):
        client.flowservice.delete_flow(FLOW_ID)
    assert len([c for c in mocked.calls if c.request.method == "DELETE"]) == 1


@pytest.mark.parametrize(
    ("status", "error_class", "code"),
    [
        (400, BadRequestError, "1403-400"),
        (401, AuthenticationError, "2000-401"),
        (403, PermissionDeniedError, "2120-403"),
        (404, NotFoundError, "1439-404"),
        (409, ConflictError, "1409-409"),
        (412, PreconditionFailedError, "1404-412"),
        (429, RateLimitError, "1429-429"),
        (500, ServerError, "1102-500"),
        (503, ServerError, "1103-503"),
    ],
)
def test_flow_service_problem_bodies_map_to_error_classes(
    client, mocked, status, error_class, code
):
    body = flow_problem(code, status, f"message for {code}")
    mocked.add(responses.DELETE, FLOW_URL, status=status, json=body)
    with pytest.raises(error_class) as excinfo:
        client.flowservice.delete_flow(FLOW_ID)
    error = excinfo.value
    assert error.status_code == status
    assert error.code == f"FLOW-{code}"
    assert error.message == f"message for {code}"
    assert error.request_id == "req-from-body"
    assert error.body == body
    assert error.retryable is (status in (429, 500, 503))


@pytest.mark.parametrize(
    ("status", "type_uri"),
    [
        (400, "https://ns.adobe.com/aep/errors/FLOW-1439-400"),
        (404, "https://ns.adobe.com/aep/errors/FLOW-1439-404"),
        (400, "https://ns.adobe.com/aep/errors/FLOW-1101-400"),
        (404, "https://ns.adobe.com/aep/errors/FLOW-1101-404"),
        (400, "http://ns.adobe.com/aep/errors/XDM-1010-400"),
        (404, "http://ns.adobe.com/aep/errors/XDM-1010-404"),
    ],
)
def test_not_found_codes_are_not_found_whatever_the_status(client, mocked, status, type_uri):
    # Adobe's Flow Service error table lists "resource not found" as 1439-400 and 1101-404.
    mocked.add(responses.DELETE, FLOW_URL, status=status, json={"type": type_uri})
    with pytest.raises(NotFoundError) as excinfo:
        client.flowservice.delete_flow(FLOW_ID)
    assert excinfo.value.status_code == status


def test_a_400_with_another_code_is_still_a_bad_request(client, mocked):
    body = {"type": "https://ns.adobe.com/aep/errors/FLOW-1440-400"}
    mocked.add(responses.DELETE, FLOW_URL, status=400, json=body)
    with pytest.raises(BadRequestError) as excinfo:
        client.flowservice.delete_flow(FLOW_ID)
    assert not isinstance(excinfo.value, NotFoundError)


@pytest.mark.parametrize(
    ("status", "error_code", "error_class"),
    [
        (400, "400003", BadRequestError),
        (401, "401013", AuthenticationError),
        (403, "403003", PermissionDeniedError),
        (404, "404000", NotFoundError),
        (409, "409000", ConflictError),
        (412, "412000", PreconditionFailedError),
        (429, "429050", RateLimitError),
        (502, "502000", ServerError),
    ],
)
def test_gateway_bodies_map_to_error_classes(client, mocked, status, error_code, error_class):
    mocked.add(
        responses.DELETE,
        FLOW_URL,
        status=status,
        json={"error_code": error_code, "message": "gateway says no"},
        headers={"x-request-id": "req-from-header"},
    )
    with pytest.raises(error_class) as excinfo:
        client.flowservice.delete_flow(FLOW_ID)
    assert excinfo.value.code == error_code
    assert excinfo.value.message == "gateway says no"
    assert excinfo.value.request_id == "req-from-header"


def test_schema_registry_problem_bodies_keep_their_request_id(client, mocked):
    registry = "https://platform.test/data/foundation/schemaregistry"
    mocked.add(
        responses.GET,
        f"{registry}/stats",
        status=404,
        json={
            "type": "http://ns.adobe.com/aep/errors/XDM-1010-404",
            "title": "Resource not found",
            "status": 404,
            "report": {"registryRequestId": "xdm-req", "detailed-message": "No such thing"},
            "detail": "No such thing",
        },
    )
    with pytest.raises(NotFoundError) as excinfo:
        client.schemas.get_stats()
    assert (excinfo.value.code, excinfo.value.request_id) == ("XDM-1010-404", "xdm-req")
    assert excinfo.value.message == "No such thing"


def test_older_bare_error_message_bodies_are_understood(client, mocked):
    mocked.add(
        responses.DELETE,
        FLOW_URL,
        status=412,
        json={"errorMessage": "Supplied version=[x] does not match the current version"},
    )
    with pytest.raises(PreconditionFailedError, match="does not match"):
        client.flowservice.delete_flow(FLOW_ID)


def test_a_plain_text_error_becomes_the_message(client, mocked):
    mocked.add(responses.DELETE, FLOW_URL, status=502, body="Bad gateway")
    with pytest.raises(ServerError, match="Bad gateway"):
        client.flowservice.delete_flow(FLOW_ID)


def test_an_empty_error_body_still_names_the_status(client, mocked):
    mocked.add(responses.DELETE, FLOW_URL, status=418)
    with pytest.raises(AEPAPIError, match="HTTP 418"):
        client.flowservice.delete_flow(FLOW_ID)


def test_rate_limits_carry_retry_after_seconds(client, mocked):
    mocked.add(
        responses.DELETE,
        FLOW_URL,
        status=429,
        json={"error_code": "429050", "message": "Too many requests"},
        headers={"Retry-After": "17"},
    )
    with pytest.raises(RateLimitError) as excinfo:
        client.flowservice.delete_flow(FLOW_ID)
    assert excinfo.value.retry_after == 17


def test_retry_after_accepts_http_dates():
    later = datetime.now(UTC) + timedelta(seconds=120)
    assert 100 < retry_after_seconds(format_datetime(later, usegmt=True)) <= 120
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None


def test_error_for_works_on_a_bare_response():
    response = requests.Response()
    response.status_code = 404
    response._content = b'{"error_code": "404000", "message": "gone"}'
    error = error_for(response)
    assert isinstance(error, NotFoundError)
    assert str(error) == "[404000] gone"


@pytest.mark.parametrize(
    "error",
    [
        AEPError("base", 400, "req", "C-1", {"a": 1}),
        AEPTimeout("slow"),
        NotFoundError("missing", 404, "req-1", "FLOW-1439-404", {"title": "x"}),
        RateLimitError("slow down", 429, "req-2", "429050", None, retry_after=3.5),
        ServerError("boom", 503),
        IMSAuthError("down", 503, None, "temporarily_unavailable"),
    ],
)
def test_errors_survive_pickling_for_celery(error):
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(copy) is type(error)
    assert copy.__dict__ == error.__dict__
    assert str(copy) == str(error)


def test_str_names_the_request_and_the_code():
    error = NotFoundError("not found", 404, "req-9", "FLOW-1439-404")
    assert str(error) == "Request req-9: [FLOW-1439-404] not found"


def test_close_leaves_a_callers_session_open(config):
    session = build_session()
    closed: list[bool] = []
    session.close = lambda: closed.append(True)  # type: ignore[method-assign]
    AEPClient(config, token_cache=MemoryTokenCache(), session=session).close()
    assert closed == []


def test_request_ids_hold_the_latest_answers_id_until_taken(client, mocked):
    mocked.add(responses.DELETE, FLOW_URL, status=204, headers={"x-request-id": "req-1"})
    mocked.add(responses.DELETE, FLOW_URL, status=204, headers={"x-request-id": "req-2"})
    mocked.add(responses.DELETE, FLOW_URL, status=204)
    assert client.request_ids.take() == ""
    client.flowservice.delete_flow(FLOW_ID)
    client.flowservice.delete_flow(FLOW_ID)
    assert client.request_ids.take() == "req-2"
    assert client.request_ids.take() == ""
    client.flowservice.delete_flow(FLOW_ID)  # no header: nothing new to remember
    assert client.request_ids.take() == ""


def test_request_ids_skip_ims_and_keep_an_earlier_id_when_an_answer_has_none(config, mocked):
    mocked.add(
        responses.POST,
        TOKEN_URL,
        json={"access_token": TOKEN, "expires_in": 86399},
        headers={"x-request-id": "ims-1"},
    )
    mocked.add(responses.DELETE, FLOW_URL, status=204, headers={"x-request-id": "req-1"})
    mocked.add(responses.DELETE, FLOW_URL, status=204)
    client = AEPClient(config, token_cache=MemoryTokenCache())
    client.flowservice.delete_flow(FLOW_ID)
    client.flowservice.delete_flow(FLOW_ID)
    assert client.request_ids.take() == "req-1"


def test_request_ids_include_a_failed_answer(client, mocked):
    mocked.add(
        responses.GET,
        FLOW_URL,
        status=500,
        json={"message": "boom"},
        headers={"x-request-id": "req-500"},
    )
    with pytest.raises(ServerError):
        client.flowservice.get_flow(FLOW_ID)
    assert client.request_ids.take() == "req-500"
