"""The OpenAPI document describes exactly the application's routes and is valid OpenAPI 3.1."""

from openapi_spec_validator import validate

from exchange.openapi import DOC_PATH


def router_operations(app) -> set:
    return {(r.method, r.resource.canonical) for r in app.router.routes() if r.method != "HEAD"}


def document_operations(doc) -> set:
    return {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}


async def test_the_document_lists_every_route_of_the_router_and_no_other(app, api):
    status, doc, _ = await api.call("GET", DOC_PATH)
    assert status == 200
    assert document_operations(doc) == router_operations(app)
    assert {p for p in doc["paths"] if p.startswith("/api/v3/")} and "/healthz" in doc["paths"]


async def test_the_document_validates_as_openapi_3_1(api):
    status, doc, _ = await api.call("GET", DOC_PATH)
    assert doc["openapi"] == "3.1.0"
    validate(doc)


async def test_the_document_names_both_security_schemes(api):
    status, doc, _ = await api.call("GET", DOC_PATH)
    schemes = doc["components"]["securitySchemes"]
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "apiKey", "in": "header",
                                 "name": "X-MBX-APIKEY"}
    assert schemes["bearer"]["scheme"] == "bearer" and schemes["bearer"]["bearerFormat"] == "JWT"
    assert doc["paths"]["/api/v3/order"]["post"]["security"] == [{"apiKey": []}]
    assert doc["paths"]["/api/v1/portfolio"]["get"]["security"] == [{"bearer": []}]
    assert doc["paths"]["/api/v3/depth"]["get"]["security"] == []


async def test_a_query_string_on_the_document_is_refused(api):
    status, body, _ = await api.call("GET", DOC_PATH + "?x=1")
    assert (status, body["code"]) == (400, "UNKNOWN_PARAMETER")
