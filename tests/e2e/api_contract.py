"""The API contract, checked on every e2e response: zigquant's own OpenAPI document
(GET /api/v1/openapi.json) is validated once per process with openapi-spec-validator, and each
JSON response the e2e helpers receive is validated against the schema the document gives for
that method, path and status (OpenAPI 3.0 schemas, jsonschema through openapi-schema-validator).
A response the document does not describe is a failure, not a skip (an error for a path the API
does not have must be the documented error body)."""
from __future__ import annotations

import re

import requests
from openapi_schema_validator import OAS30ReadValidator
from openapi_spec_validator import validate as validate_spec

# Every process of a run is the same binary, so one document serves them all.
_SPEC: dict | None = None


def spec_for(base_url: str, *keys: str | None) -> dict:
    """The validated OpenAPI document of the zigquant binary under test, fetched once from the
    process at `base_url` with the first of `keys` it accepts."""
    global _SPEC
    if _SPEC is None:
        answers = []
        for key in filter(None, keys):
            r = requests.get(base_url + "/api/v1/openapi.json",
                             headers={"Authorization": f"Bearer {key}"}, timeout=5)
            if r.status_code == 200:
                spec = r.json()
                validate_spec(spec)  # raises with the path of the first problem
                _SPEC = spec
                break
            answers.append(f"{r.status_code} {r.text[:200]}")
        assert _SPEC is not None, f"cannot fetch openapi.json from {base_url}: {answers}"
    return _SPEC


def _template_of(spec: dict, path: str) -> str | None:
    for template in spec["paths"]:
        pattern = "^" + re.sub(r"\\\{[^/]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return template
    return None


def response_schema(spec: dict, method: str, path: str, status: int) -> dict | None:
    """The JSON schema the document gives for this answer, or None when it describes none."""
    template = _template_of(spec, path)
    if template is None:
        return None
    op = spec["paths"][template].get(method.lower())
    if op is None:
        return None
    answer = op["responses"].get(str(status)) or op["responses"].get("default")
    if answer is None:
        return None
    return answer.get("content", {}).get("application/json", {}).get("schema")


def check(response: requests.Response, base_url: str, key: str | None) -> None:
    """Fails the test when a JSON response of zigquant's does not match its documented schema.
    `key` is the instance's key; the request's own bearer key is tried first."""
    if not response.headers.get("content-type", "").startswith("application/json"):
        return
    path = response.request.path_url.split("?", 1)[0]
    presented = response.request.headers.get("Authorization", "").removeprefix("Bearer ")
    spec = spec_for(base_url, presented, key)
    method = response.request.method
    schema = response_schema(spec, method, path, response.status_code)
    if schema is None and _template_of(spec, path) is None and response.status_code >= 400:
        # A path the API does not have: the answer is still the documented error body.
        schema = {"$ref": "#/components/schemas/ErrorBody"}
    assert schema is not None, \
        f"{method} {path} -> {response.status_code}: the OpenAPI document describes no JSON body"
    body = response.json()
    validator = OAS30ReadValidator({"allOf": [schema], "components": spec["components"]})
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, (f"{method} {path} -> {response.status_code} does not match its schema: "
                        + "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]))
