"""Settings: config.toml defaults, overridden by EXCHANGE_* variables, then by flags.

Each key of config.toml (in any section) can be overridden by the variable
``EXCHANGE_<KEY>`` in upper case: ``EXCHANGE_PORT=9000``,
``EXCHANGE_DATABASE_URL=postgresql://...``, ``EXCHANGE_DURABILITY=async``.
The value is converted to the type of the default. ``EXCHANGE_CONFIG`` names
another config file.
"""

import dataclasses
import os
import pathlib
import re
import tomllib
from dataclasses import dataclass

CONFIG_FILE = pathlib.Path(__file__).resolve().parents[1] / "config.toml"
_POSITIVE_DECIMAL = re.compile(r"[0-9]{1,30}(\.[0-9]{1,30})?")


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: str = "data"
    database_url: str = ""
    durability: str = "sync"
    max_backlog: int = 50_000
    snapshot_every: int = 1_000_000   # commands between snapshots (0: only at shutdown)
    day_end_utc_s: int = 0
    default_stp: str = "EXPIRE_MAKER"
    weight_limit_1m: int = 6000
    max_body_bytes: int = 64 * 1024
    # [feed]: WebSocket streams (exchange.feed)
    ws_ping_s: int = 20               # server pings; a socket whose pong is late is closed
    ws_flush_ms: int = 5              # stream messages are written at most this often
    ws_max_buffer_bytes: int = 4 << 20  # a subscriber with more unsent is dropped (1008)
    notify_coalesce_ms: int = 1000    # notifications are gathered and sent this often
    log_level: str = "INFO"
    log_format: str = "text"          # "text" lines or "json" objects (exchange.logs)
    # [auth]: the platform API's logins (exchange.platform)
    jwt_secret: str = ""              # empty: generated once into <data_dir>/jwt-secret
    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 30 * 86400
    password_min_length: int = 10
    login_max_failures: int = 5       # consecutive failures before the account locks
    login_lockout_s: int = 900
    auth_ip_limit_1m: int = 30        # credential-checking requests per IP per minute
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    totp_issuer: str = "exchange"
    max_api_keys: int = 20            # active API keys per account
    # secrets at rest (exchange.store.sealing): Fernet keys, comma-separated, the first
    # seals; empty: the keys in <data_dir>/secrets-key (0600, created on first start)
    secrets_key: str = ""
    # [mail]: SMTP (exchange.platform.mail); no smtp_host: no mail, and password reset
    # and email verification answer 503 MAIL_DISABLED
    smtp_host: str = ""
    smtp_port: int = 0                # 0: 465 with smtp_security "tls", 587 "starttls", 25 "none"
    smtp_security: str = "starttls"   # "starttls", "tls" (implicit TLS) or "none"
    smtp_user: str = ""               # with smtp_password: log in to the SMTP server
    smtp_password: str = ""
    smtp_ca_file: str = ""            # PEM bundle to trust for the SMTP server's TLS; empty:
                                      # the system's
    smtp_from: str = "exchange@localhost"
    smtp_timeout_s: int = 10
    public_url: str = ""              # base of the links in mail; empty: http://<host>:<port>
    reset_token_ttl_s: int = 1800     # a password reset link works this long, once
    verify_token_ttl_s: int = 172800  # an email verification link works this long, once
    # [funding]: deposits and withdrawals (exchange.platform.funding)
    faucet: bool = False              # sandbox: logged-in users may credit themselves
    faucet_limit: str = "10000"       # at most this much of an asset per faucet request
    # [risk]: venue-wide pre-trade limits (0 = unlimited) and volatility halts
    # (exchange.engine.risk); journaled as SetRiskDefaults at start-up when they change
    max_order_qty: int = 0            # lots per order
    max_order_notional: int = 0       # quote minor units per order
    max_open_orders: int = 0          # per account
    max_position: int = 0             # lots of a symbol's base an account may hold
    max_daily_notional: int = 0       # quote minor units traded per account per day
    halt_s: int = 0                   # volatility halt length in seconds; 0: no halts (config.toml: 300)
    # [kyc]: only VERIFIED accounts may trade / request withdrawals (exchange.kyc)
    require_kyc_for_trading: bool = False
    require_kyc_for_withdrawals: bool = False
    # [surveillance]: alerts from committed events (exchange.platform.surveillance)
    surveillance_flush_ms: int = 1000  # alerts are written in batches this often
    spoof_min_notional: int = 1_000_000  # quote minor units (10000.00 of a 2-decimal asset)
    spoof_away_bps: int = 500         # from the best opposite price when placed
    spoof_max_lifetime_ms: int = 5000  # cancelled, unfilled, within this long
    layering_min_orders: int = 3      # such orders, one account, one side, within the window
    layering_window_ms: int = 10_000
    volume_multiple: int = 5          # a minute's volume vs the previous hour's per-minute mean
    volume_min_history_min: int = 10  # minutes of history before the volume rule applies
    price_move_bps: int = 500         # a move this large ...
    price_window_s: int = 60          # ... within this many seconds

    def data_path(self) -> pathlib.Path:
        """Return the data directory as an absolute path: the one place every command
        (``serve``, ``migrate``, ``role``, ``audit``) takes it from. ``data_dir`` is
        relative to the working directory (``./data`` by default)."""
        return pathlib.Path(self.data_dir).resolve()


def _convert(name: str, value, default):
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("1", "true", "yes", "on"):
            return True
        if str(value).lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"setting {name} must be true or false, got {value!r}")
    if isinstance(default, int):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValueError(f"setting {name} must be an integer, got {value!r}") from None
    return str(value)


def load(overrides: dict | None = None, env=None, path: pathlib.Path | None = None) -> Settings:
    """Return the settings: defaults < config.toml < EXCHANGE_* env < ``overrides`` (non-None)."""
    env = os.environ if env is None else env
    path = pathlib.Path(env.get("EXCHANGE_CONFIG") or path or CONFIG_FILE)
    defaults = Settings()
    known = {f.name: getattr(defaults, f.name) for f in dataclasses.fields(Settings)}
    values = {}
    if path.exists():
        with path.open("rb") as f:
            doc = tomllib.load(f)
        for section in doc.values():
            items = section.items() if isinstance(section, dict) else ()
            for name, value in items:
                if name in known:
                    values[name] = _convert(name, value, known[name])
    for name, default in known.items():
        var = "EXCHANGE_" + name.upper()
        if var in env:
            values[name] = _convert(var, env[var], default)
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = _convert(name, value, known[name])
    settings = dataclasses.replace(defaults, **values)
    if settings.durability not in ("sync", "async"):
        raise ValueError("durability must be 'sync' or 'async'")
    if settings.log_format not in ("text", "json"):
        raise ValueError(f"log_format must be 'text' or 'json', got {settings.log_format!r}")
    if not _POSITIVE_DECIMAL.fullmatch(settings.faucet_limit) or not any(
            c in "123456789" for c in settings.faucet_limit):
        raise ValueError(f"faucet_limit must be a positive decimal, got {settings.faucet_limit!r}")
    if settings.smtp_security not in ("starttls", "tls", "none"):
        raise ValueError("smtp_security must be 'starttls', 'tls' or 'none', "
                         f"got {settings.smtp_security!r}")
    if not 0 <= settings.smtp_port < 65536:
        raise ValueError("smtp_port must be 0 to 65535")
    for name in ("smtp_timeout_s", "reset_token_ttl_s", "verify_token_ttl_s",
                 "login_max_failures"):
        if not 0 < getattr(settings, name) < 2**31:
            raise ValueError(f"{name} must be a positive integer")
    for name in ("max_order_qty", "max_order_notional", "max_open_orders", "max_position",
                 "max_daily_notional", "halt_s"):
        if not 0 <= getattr(settings, name) < 2**63:
            raise ValueError(f"{name} must be a non-negative integer")
    for name in ("surveillance_flush_ms", "spoof_min_notional", "spoof_away_bps",
                 "spoof_max_lifetime_ms", "layering_min_orders", "layering_window_ms",
                 "volume_multiple", "volume_min_history_min", "price_move_bps",
                 "price_window_s"):
        if not 0 < getattr(settings, name) < 2**63:
            raise ValueError(f"{name} must be a positive integer")
    return settings
