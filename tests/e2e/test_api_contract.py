"""The API contract against a real zigquant: the OpenAPI document is a valid OpenAPI 3.0 document
(openapi-spec-validator) with request and response schemas, every route's answer matches them
(the e2e helpers check every response they get, see api_contract.py), non-finite statistics are
the strings "NaN"/"+Inf"/"-Inf", and an order the risk check rejects is 201 with status
`rejected`."""
import json

import pytest
import requests

import api_contract
from zq_stack import API_KEY


def test_openapi_document_is_valid_and_has_schemas(stack):
    spec = api_contract.spec_for(stack.zq.url, API_KEY)
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for status, answer in op["responses"].items():
                content = answer.get("content", {})
                assert content, f"{method} {path} {status}: no content"
                for media, body in content.items():
                    assert body.get("schema"), f"{method} {path} {status} {media}: no schema"
    post = spec["paths"]["/api/v1/orders"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("PlaceOrder")
    assert "201" in post["responses"]


def test_every_route_answers_by_its_schema(stack):
    zq = stack.zq
    for path in ["/health", "/ready", "/api/v1/strategies", "/api/v1/strategies/sma_cross",
                 "/api/v1/orders?limit=5", "/api/v1/positions", "/api/v1/trades?limit=5",
                 "/api/v1/metrics", "/api/v1/orders/999999", "/api/v1/orders/abc",
                 "/api/v1/strategies/nope", "/api/v1/orders?limit=0"]:
        zq.api("GET", path)  # checked against the document by the helper
    zq.api("POST", "/api/v1/strategies/sma_cross/stop")
    zq.api("POST", "/api/v1/strategies/sma_cross/start")
    zq.api("POST", "/api/v1/orders", json={"pair": "BTC-USDT", "side": "hold", "qty": 1})
    zq.api("GET", "/api/v1/positions", key=None)


def test_a_risk_rejected_order_is_201_rejected(stack):
    zq = stack.zq
    r = zq.api("POST", "/api/v1/orders",
               json={"pair": "BTC-USDT", "side": "buy", "type": "market", "qty": 50})
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "rejected" and order["reject_reason"] == "risk_limit", order
    r = zq.api("DELETE", f"/api/v1/orders/{order['id']}")
    assert r.status_code == 409, r.text
    assert r.json()["error"]["message"] == f"order {order['id']} is already rejected"


def test_the_checker_catches_a_body_that_breaks_its_schema(stack):
    spec = api_contract.spec_for(stack.zq.url, API_KEY)
    def fake(body, status=200, path="/health"):
        r = requests.Response()
        r.status_code = status
        r.headers["content-type"] = "application/json"
        r._content = json.dumps(body).encode()
        r.request = requests.Request("GET", stack.zq.url + path).prepare()
        return r
    api_contract.check(fake({"status": "ok"}), stack.zq.url, API_KEY)
    with pytest.raises(AssertionError, match="does not match its schema"):
        api_contract.check(fake({"status": 1}), stack.zq.url, API_KEY)
    with pytest.raises(AssertionError, match="does not match its schema"):
        api_contract.check(fake({"nope": 1}, status=404, path="/api/v2/x"), stack.zq.url, API_KEY)
    assert spec is api_contract.spec_for(stack.zq.url, API_KEY)


def test_a_position_before_its_first_mark_answers_by_its_schema(stack):
    """`mark_price` is null until a pair's first price: the document allows null there (and only
    there), which OpenAPI 3.0 says on the number branch of the `oneOf`, not around it."""
    def positions(mark):
        r = requests.Response()
        r.status_code = 200
        r.headers["content-type"] = "application/json"
        r._content = json.dumps({"items": [{"pair": "BTC-USDT", "size": 0.0, "mark_price": mark,
                                            "unrealized_pnl": 0.0, "by_strategy": []}]}).encode()
        r.request = requests.Request("GET", stack.zq.url + "/api/v1/positions").prepare()
        return r
    for mark in (None, 42000.5, "NaN"):
        api_contract.check(positions(mark), stack.zq.url, API_KEY)
    for mark in ("42000", "null", [1]):
        with pytest.raises(AssertionError, match="does not match its schema"):
            api_contract.check(positions(mark), stack.zq.url, API_KEY)
