"""Every SQL read and platform-side write outside the journal, one module per concept.

Each function is a named ``async`` call taking an asyncpg pool or connection
(anything with ``fetch``/``fetchrow``/``fetchval``/``execute``) and plain
values, and returns rows (``asyncpg.Record``) or plain values. Handlers parse
a request, call one of these, and shape the answer; no SQL text lives outside
``exchange/store/`` (``tests/store/test_sql_layer.py`` checks it).

Values stay integers (ticks, lots, minor units, ns); ``numeric`` sums come back
as ``Decimal`` and the callers turn them into ints. Nothing here imports more
than the standard library, so importing a module is cheap.

- ``trades``: a symbol's public trades, and statistics over a window of them
  (the 24 h tickers, avgPrice, the platform's market analytics);
- ``candles``: candles aggregated from the trades at query time;
- ``account_trades``: one account's side of its trades (Binance myTrades, the
  platform's history, portfolio and reports);
- ``orders``: one account's orders;
- ``ledger``: ledger entries (statements);
- ``notifications`` and ``alerts``: what the platform's notifier stores;
- ``accounts``: account creation; ``profile``: a login's profile.
"""
