"""The committed views of exchange.marketdata: candles and tickers."""
