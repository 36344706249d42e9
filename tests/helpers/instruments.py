"""An instrument listing (the body of POST /api/v1/admin/instruments) the platform tests share."""

NFLX = {"symbol": "NFLX", "base": "NFLX", "quote": "USD", "tick_size": "0.05",
        "step_size": "0.2", "base_decimals": 2, "min_qty": "0.2", "max_qty": "1000",
        "min_notional": "1.00", "maker_fee": "0.001", "taker_fee": "0.002"}
