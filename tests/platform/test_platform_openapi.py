"""The OpenAPI document describes exactly the application's routes and is valid OpenAPI 3.1."""

import pytest
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


def documented(doc, method: str, path: str, status: int, media: str) -> dict:
    """The schema the document gives for this response; fails if it documents none."""
    responses = doc["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, (method, path, status, list(responses))
    content = responses[str(status)]["content"]
    assert media in content, (method, path, status, media, list(content))
    return content[media]["schema"]


def check(doc, method, path, status, media, body):
    import jsonschema
    schema = documented(doc, method, path, status, media)
    jsonschema.validate(body, {**schema, "components": doc["components"]})


@pytest.mark.parametrize("query, many", [("?symbol=AAPL", False), ("", True),
                                         ('?symbols=["AAPL","MSFT"]', True), ("?symbols=", True),
                                         ("?type=MINI", True)])
@pytest.mark.parametrize("ticker", ["24hr", "price", "bookTicker"])
async def test_a_ticker_is_an_object_for_a_symbol_and_else_an_array_as_documented(api, ticker,
                                                                                  query, many):
    if "type=" in query and ticker != "24hr":
        query = ""
    path = f"/api/v3/ticker/{ticker}"
    resp = await api.client.get(path + query)
    body = await resp.json()
    assert resp.status == 200, body
    assert isinstance(body, list) is many
    _, doc, _ = await api.call("GET", DOC_PATH)
    check(doc, "GET", path, 200, "application/json", body)


async def test_a_csv_report_is_documented_as_text_csv(api, user):
    _, doc, _ = await user.call("GET", DOC_PATH, token="")
    for path in ("/api/v1/reports/trades", "/api/v1/reports/statement", "/api/v1/reports/tax"):
        query = "?format=csv" + ("&year=2024" if path.endswith("tax") else "")
        resp = await user.client.get(path + query,
                                     headers={"Authorization": f"Bearer {user.token}"})
        assert resp.status == 200 and resp.content_type == "text/csv", await resp.text()
        documented(doc, "GET", path, 200, "text/csv")


@pytest.mark.parametrize("path", ["/ws", "/ws/aapl@trade", "/stream?streams=aapl@trade",
                                  "/ws-api/v3"])
async def test_a_plain_get_on_a_websocket_path_is_the_documented_400(api, path):
    resp = await api.client.get(path)
    assert resp.status == 400 and resp.content_type == "application/json"
    _, doc, _ = await api.call("GET", DOC_PATH)
    check(doc, "GET", path.split("?")[0].replace("/aapl@trade", "/{path}"), 400,
          "application/json", await resp.json())


async def test_a_missing_asset_is_the_documented_404(api):
    resp = await api.client.get("/assets/no-such-file.js")
    assert resp.status == 404 and resp.content_type == "text/plain"
    _, doc, _ = await api.call("GET", DOC_PATH)
    documented(doc, "GET", "/assets/{name}", 404, "text/plain")


async def test_the_document_states_the_bounds_of_ids_times_and_years(api):
    from exchange import parse
    _, doc, _ = await api.call("GET", DOC_PATH)
    params = {p["name"]: p["schema"] for p in
              doc["paths"]["/api/v1/reports/tax"]["get"]["parameters"]}
    assert (params["year"]["minimum"], params["year"]["maximum"]) == (parse.MIN_YEAR,
                                                                      parse.MAX_YEAR)
    alert = doc["paths"]["/api/v1/alerts/{alert_id}"]["delete"]["parameters"][0]["schema"]
    assert (alert["type"], alert["minimum"], alert["maximum"]) == ("integer", 1, 2**63 - 1)


async def test_market_data_with_trades_and_a_book_matches_the_documented_schemas(api, traders):
    mine, other = traders
    await other.order("AAPL", "SELL", "101.00", "3")
    await mine.order("AAPL", "BUY", "101.00", "1")      # a trade
    await mine.order("AAPL", "BUY", "99.00", "1")       # a resting bid
    _, doc, _ = await api.call("GET", DOC_PATH)
    for path, query in [("/api/v3/depth", "?symbol=AAPL"), ("/api/v3/trades", "?symbol=AAPL"),
                        ("/api/v3/historicalTrades", "?symbol=AAPL"),
                        ("/api/v3/aggTrades", "?symbol=AAPL"),
                        ("/api/v3/avgPrice", "?symbol=AAPL"),
                        ("/api/v3/ticker/24hr", "?symbol=AAPL"),
                        ("/api/v3/ticker/24hr", "?symbol=AAPL&type=MINI"),
                        ("/api/v3/ticker/bookTicker", "?symbol=AAPL")]:
        resp = await api.client.get(path + query)
        body = await resp.json()
        assert resp.status == 200, (path, body)
        check(doc, "GET", path, 200, "application/json", body)
        if isinstance(body, list):
            assert body, path
    depth = await (await api.client.get("/api/v3/depth?symbol=AAPL")).json()
    assert depth["bids"] and depth["asks"]
