"""Calls to /api/v1/ in tests, each answer checked against the OpenAPI document the API serves.

    api = ApiCaller(client)                     # django.test.Client
    response = api.post("/api/v1/consent/check", {"email": ..., "purpose": "marketing"}, token=token)

The document is loaded once per test session and validated (openapi-spec-validator); every
answer must be a status the operation declares, and its JSON body must validate against the
schema declared for that status (openapi-schema-validator, OAS 3.1, with the document's
components beside the schema so that its $refs resolve). An answer outside the document (an
unknown path) must still have the error shape.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

from django.test import Client
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec

OPENAPI_URL = "/api/v1/openapi.json"
ERROR_KEYS = {"code", "message", "field", "details"}


@lru_cache(maxsize=1)
def _document_json() -> str:
    response = Client().get(OPENAPI_URL)
    assert response.status_code == 200, response.content
    document = response.json()
    validate_spec(document)
    return json.dumps(document)


def openapi_document() -> dict:
    """The served document, validated (a fresh copy each call)."""
    return json.loads(_document_json())


@lru_cache(maxsize=1)
def _operations() -> list[tuple[re.Pattern, str, dict]]:
    document = openapi_document()
    operations = []
    for template, item in document["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                operations.append((pattern, method, operation))
    return operations


def operation_for(method: str, path: str) -> dict | None:
    path = path.split("?", 1)[0]
    for pattern, op_method, operation in _operations():
        if op_method == method.lower() and pattern.match(path):
            return operation
    return None


def assert_error_shape(body: dict) -> None:
    assert set(body) >= {"error"}, body
    assert set(body["error"]) == ERROR_KEYS, body
    assert isinstance(body["error"]["code"], str) and body["error"]["code"], body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    assert isinstance(body["error"]["details"], list), body


def validate_response(method: str, path: str, response) -> None:
    """Fail unless the answer is what the document says this operation answers."""
    operation = operation_for(method, path)
    body = response.json() if response.content else None
    if operation is None:
        assert response.status_code >= 400, f"{method} {path} is not in the OpenAPI document"
        assert_error_shape(body)
        return
    responses = operation["responses"]
    status = str(response.status_code)
    assert status in responses, (
        f"{method} {path} answered {status}, which its operation does not declare ({sorted(responses)}): {body}"
    )
    content = responses[status].get("content", {}).get("application/json")
    if content is None:
        assert not response.content, f"{method} {path} {status}: a body the document does not declare"
        return
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    schema = {**content["schema"], "components": openapi_document()["components"]}
    OAS31Validator(schema, format_checker=OAS31Validator.FORMAT_CHECKER).validate(body)
    if response.status_code >= 400:
        assert_error_shape(body)


class ApiCaller:
    """A test client for the API: bearer token, JSON body, headers; every answer validated."""

    def __init__(self, client: Client | None = None):
        self.client = client or Client()

    def call(self, method: str, path: str, data=None, *, token: str | None = None, raw: bytes | str | None = None,
             headers: dict[str, str] | None = None, language: str | None = None):
        extra = dict(headers or {})
        if token is not None:
            extra["Authorization"] = f"Bearer {token}"
        if language is not None:
            extra["Accept-Language"] = language
        body = raw if raw is not None else (json.dumps(data) if data is not None else "")
        if method.upper() == "GET":
            response = self.client.get(path, headers=extra)
        else:
            response = self.client.generic(method.upper(), path, body, content_type="application/json", headers=extra)
        validate_response(method, path, response)
        return response

    def get(self, path: str, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path: str, data=None, **kwargs):
        return self.call("POST", path, data, **kwargs)
