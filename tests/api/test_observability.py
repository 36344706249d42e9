"""Operations: Prometheus /metrics counts real traffic, /readyz tells why it is not ready,
and JSON log lines carry the seq of the command they concern."""

import io
import json
import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families

from exchange import logs
from exchange.keys import BATCHER, HUB, METRICS, VENUE
from exchange.bootstrap import create_account
from exchange.server import create_app
from exchange.settings import Settings, load

ORDER = {"symbol": "AAPL", "type": "LIMIT", "timeInForce": "GTC", "quantity": "1"}


async def scrape(client) -> dict:
    """GET /metrics and return {(sample name, sorted labels): value}."""
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(await resp.text()):
        for s in family.samples:
            samples[s.name, tuple(sorted(s.labels.items()))] = s.value
    return samples


def commands(samples, kind, outcome) -> float:
    return samples.get(("exchange_commands_total",
                        (("kind", kind), ("outcome", outcome))), 0.0)


def count(samples, name) -> float:
    return samples[name + "_count", ()]


async def test_metrics_count_each_command_by_kind_and_outcome(app, client, alice, bob):
    before = await scrape(client)
    for price in ("99.00", "98.00", "97.00"):
        status, body, _ = await alice.order(side="BUY", price=price, **ORDER)
        assert status == 200, body
    status, body, _ = await alice.order(**{**ORDER, "side": "BUY", "price": "99.00",
                                           "quantity": "100000"})
    assert (status, body["code"]) == (400, -2010)  # refused by the sequencer: journaled
    status, body, _ = await bob.order(side="SELL", price="99.00", **ORDER)
    assert status == 200 and body["status"] == "FILLED", body
    status, body, _ = await alice.signed("DELETE", "/api/v3/order",
                                         {"symbol": "AAPL", "orderId": 999_999})
    assert status == 400, body
    after = await scrape(client)

    def delta(kind, outcome):
        return commands(after, kind, outcome) - commands(before, kind, outcome)

    assert (delta("PlaceOrder", "accepted"), delta("PlaceOrder", "rejected")) == (4, 1)
    seq = app[VENUE].sequencer.seq
    assert sum(v for (name, _), v in after.items() if name == "exchange_commands_total") == seq
    assert count(after, "exchange_match_seconds") == seq
    assert count(after, "exchange_journal_batch_commands") > count(
        before, "exchange_journal_batch_commands") > 0
    assert after["exchange_journal_batch_commands_sum", ()] == seq  # every command, once
    assert count(after, "exchange_journal_commit_seconds") == count(
        after, "exchange_journal_batch_commands")
    assert after["exchange_journal_committed_seq", ()] == seq
    assert after["exchange_journal_backlog", ()] == 0
    assert after["exchange_websocket_clients", ()] == 0
    assert after["exchange_websocket_drops_total", ()] == 0


async def test_each_app_keeps_its_metrics_on_its_own_registry(app, client, tmp_path):
    from prometheus_client import REGISTRY
    others = [create_app(Settings(data_dir=str(tmp_path))) for _ in range(2)]  # no collision
    registries = {id(a[METRICS].registry) for a in (app, *others)}
    assert len(registries) == 3 and id(REGISTRY) not in registries
    assert REGISTRY.get_sample_value("exchange_journal_committed_seq") is None
    samples = await scrape(client)
    assert samples["exchange_journal_committed_seq", ()] == app[VENUE].sequencer.seq


async def test_readyz_is_200_when_recovered_and_the_journal_keeps_up(client):
    resp = await client.get("/readyz")
    body = await resp.json()
    assert resp.status == 200 and body["ready"] is True and body["reasons"] == []
    assert body["backlog"] == 0 and body["committed_seq"] == body["seq"] > 0


async def test_readyz_is_503_saying_why_when_the_backlog_is_at_its_bound(app, client):
    app[VENUE].max_backlog = 0
    resp = await client.get("/readyz")
    body = await resp.json()
    assert resp.status == 503 and body["ready"] is False
    assert body["reasons"] == ["journal backlog 0 is at its bound 0: new orders get 503"]


async def test_readyz_is_503_once_the_journal_writer_stopped(app, client):
    await app[BATCHER].stop()
    resp = await client.get("/readyz")
    body = await resp.json()
    assert (resp.status, body["reasons"]) == (503, ["journal writer not running"])


@pytest.fixture
def json_log():
    """Capture the exchange loggers' INFO records as JSON lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("exchange")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(level)


async def test_json_log_lines_parse_and_carry_the_seq_of_their_command(app, json_log):
    await create_account(app, "carol", {"USD": "250.00"})
    deposit_seq = app[VENUE].sequencer.seq
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    assert lines and all({"ts", "level", "logger", "msg"} <= line.keys() for line in lines)
    assert all(line["ts"].endswith("Z") for line in lines)
    deposit = [line for line in lines if line.get("seq") == deposit_seq]
    assert deposit == [{"ts": deposit[0]["ts"], "level": "INFO", "logger": "exchange.venue",
                        "msg": "Deposit accepted", "seq": deposit_seq, "kind": "Deposit",
                        "rejected": None}]


def test_text_log_lines_end_with_the_seq_and_json_lines_hold_the_traceback():
    record = logging.LogRecord("exchange.batcher", logging.ERROR, __file__, 1, "failed %s",
                               ("x",), None)
    record.seq = 42
    assert logs.TextFormatter().format(record).endswith("exchange.batcher: failed x seq=42")
    try:
        raise ValueError("boom")
    except ValueError:
        import sys
        record.exc_info = sys.exc_info()
    line = json.loads(logs.JsonFormatter().format(record))
    assert (line["msg"], line["seq"], line["level"]) == ("failed x", 42, "ERROR")
    assert "ValueError: boom" in line["exc"]


def test_configure_installs_the_chosen_format_on_the_root_logger():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        logs.configure("INFO", "json", stream)
        logging.getLogger("exchange.test").info("hello", extra={"seq": 7})
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    line = json.loads(stream.getvalue())
    assert (line["logger"], line["msg"], line["seq"]) == ("exchange.test", "hello", 7)


def test_log_format_is_text_or_json(tmp_path):
    assert load(env={}, path=tmp_path / "none.toml").log_format == "text"
    assert load(env={"EXCHANGE_LOG_FORMAT": "json"}, path=tmp_path / "none.toml").log_format \
        == "json"
    with pytest.raises(ValueError, match="log_format must be 'text' or 'json'"):
        load(env={"EXCHANGE_LOG_FORMAT": "xml"}, path=tmp_path / "none.toml")


def test_the_match_histogram_counts_each_value_in_the_first_bucket_at_or_above_it():
    from exchange.metrics import Metrics
    m = Metrics()
    for seconds in (1e-6, 3e-6, 1.0):
        m.observe_match(seconds)
    m.count_command("CancelOrder", True)
    samples = {}
    for family in text_string_to_metric_families(m.exposition().decode()):
        for s in family.samples:
            samples[s.name, s.labels.get("le")] = s.value
    assert samples["exchange_match_seconds_bucket", "1e-06"] == 1
    assert samples["exchange_match_seconds_bucket", "2.5e-06"] == 1
    assert samples["exchange_match_seconds_bucket", "5e-06"] == 2
    assert samples["exchange_match_seconds_bucket", "0.1"] == 2
    assert samples["exchange_match_seconds_bucket", "+Inf"] == 3
    assert samples["exchange_match_seconds_count", None] == 3
    assert samples["exchange_match_seconds_sum", None] == pytest.approx(1.000004)
    assert samples["exchange_commands_total", None] == 1


async def test_websocket_clients_are_counted_while_connected(app, client):
    import asyncio

    a = await client.ws_connect("/ws/aapl@trade")
    b = await client.ws_connect("/stream?streams=aapl@depth")
    samples = await scrape(client)
    assert samples["exchange_websocket_clients", ()] == 2
    await a.close()
    await b.close()
    for _ in range(500):   # wait for the server to see both go (a state, not a time)
        if not app[HUB].by_stream:
            break
        await asyncio.sleep(0.01)
    samples = await scrape(client)
    assert samples["exchange_websocket_clients", ()] == 0
