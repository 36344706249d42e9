"""Every typed ``web.AppKey`` of the application, in one module.

The keys are declared here and nowhere else, so that ``api``, ``platform``,
``feed`` and the server share state without importing each other for it.
The value types are imported for type checkers only: this module imports
nothing of the project at run time, so any layer may import it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    import asyncpg

    from .api.auth import KeyStore
    from .api.ratelimit import RateLimiter
    from .api.state import ApiSettings, ClientIds
    from .feed.hub import Hub
    from .feed.public import PublicFeed
    from .kyc import Kyc
    from .marketdata import MarketData
    from .metrics import Metrics
    from .platform.mail import Mailer
    from .platform.notifications import Notifier
    from .platform.passwords import Passwords
    from .platform.surveillance import Surveillance
    from .platform.tokens import AccessTokens
    from .settings import Settings
    from .store import Batcher, Database
    from .store.sealing import SecretBox
    from .venue import Venue

# -- filled by the server's cleanup contexts
CONFIG: web.AppKey[Settings] = web.AppKey("settings")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
DATABASE: web.AppKey[Database] = web.AppKey("database")
POOL: web.AppKey[asyncpg.Pool] = web.AppKey("pool")
BATCHER: web.AppKey[Batcher] = web.AppKey("batcher")
VENUE: web.AppKey[Venue] = web.AppKey("venue")
MARKETDATA: web.AppKey[MarketData] = web.AppKey("marketdata")
RECOVERED: web.AppKey[dict] = web.AppKey("recovered")   # recover()'s report
DEMO_CREDENTIALS: web.AppKey[dict] = web.AppKey("demo_credentials")
EXPIRY_CLOCK: web.AppKey[asyncio.Task] = web.AppKey("expiry_clock")
OPENAPI_DOCUMENT: web.AppKey[bytes] = web.AppKey("openapi_document")

# -- the Binance-dialect edge (exchange.api.setup)
API_SETTINGS: web.AppKey[ApiSettings] = web.AppKey("api_settings")
KEYS: web.AppKey[KeyStore] = web.AppKey("api_keys")
LIMITER: web.AppKey[RateLimiter] = web.AppKey("rate_limiter")
CLIENT_IDS: web.AppKey[ClientIds] = web.AppKey("client_ids")
KYC: web.AppKey[Kyc] = web.AppKey("kyc")
# opens the sealed secrets at rest (API secrets, TOTP secrets); set at start-up
SECRET_BOX: web.AppKey[SecretBox] = web.AppKey("secret_box")

# -- the platform API (exchange.platform.setup)
PLATFORM_SETTINGS: web.AppKey[Settings] = web.AppKey("platform_settings")
PASSWORDS: web.AppKey[Passwords] = web.AppKey("passwords")
ATTEMPTS: web.AppKey[RateLimiter] = web.AppKey("auth_attempts")
ACCESS_TOKENS: web.AppKey[AccessTokens] = web.AppKey("access_tokens")  # the signing secret
# session_id -> {callback}: what ends the session's open sockets (see session.on_session_end)
SESSION_SOCKETS: web.AppKey[dict] = web.AppKey("session_sockets")
NOTIFIER: web.AppKey[Notifier] = web.AppKey("notifier")
SURVEILLANCE: web.AppKey[Surveillance] = web.AppKey("surveillance")
MAILER: web.AppKey[Mailer] = web.AppKey("mailer")   # exchange.platform.mail

# -- the WebSocket feeds
HUB: web.AppKey[Hub] = web.AppKey("hub")
PUBLIC_FEED: web.AppKey[PublicFeed] = web.AppKey("public_feed")
USER_FEED: web.AppKey[object] = web.AppKey("user_feed")   # the user data streams (listen keys)
WS_PING_S: web.AppKey[float] = web.AppKey("ws_ping_s")
