"""Every SQL read and platform write outside the batcher, per concept, as named async functions.

Each function takes a pool or a connection (``db``) as its first argument; one that
must join a caller's transaction says so. Handlers parse, call one of these and
shape the answer; no SQL runs outside ``exchange/store/`` (``tests/store/test_sql_layer.py``
checks it). Values stay integers (ticks, lots, minor units, ns); ``numeric`` sums come
back as ``Decimal`` and the callers turn them into ints. This package imports nothing
heavy: import its modules.

- ``trades``: a symbol's public trades, and statistics over a window of them
  (the 24 h tickers, avgPrice, the platform's market analytics);
- ``candles``: candles aggregated from the trades at query time;
- ``account_trades``: one account's side of its trades (Binance myTrades, the
  platform's history, portfolio and reports);
- ``orders``: one account's orders;
- ``ledger``: ledger entries (statements);
- ``notifications`` and ``alerts``: what the platform's notifier stores;
- ``accounts``: creating accounts (the one place), finding them, role and beneficial
  owner;
- ``users``, ``sessions``, ``api_keys``, ``email_tokens``, ``secrets``: logins and
  their profile, sessions and refresh tokens, API keys, mailed tokens, sealed columns;
- ``admin``, ``funding``, ``kyc``, ``risk``, ``surveillance``: the platform's admin
  records, deposits and withdrawals, KYC, risk and surveillance tables.
"""
