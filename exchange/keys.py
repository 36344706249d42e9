"""Every ``web.AppKey`` of the application, in one module.

The keys are declared here and nowhere else, so that ``api``, ``platform``,
``feed`` and the server share state without importing each other for it.
Each key's comment names the type of its value. The module imports nothing of the
project (not even for type checkers), so any layer may import it and no import
cycle can run through it.
"""

from aiohttp import web

# -- filled by the server's cleanup contexts
CONFIG = web.AppKey("settings")   # Settings
METRICS = web.AppKey("metrics")   # Metrics
DATABASE = web.AppKey("database")   # Database
POOL = web.AppKey("pool")   # asyncpg.Pool
BATCHER = web.AppKey("batcher")   # Batcher
VENUE = web.AppKey("venue")   # Venue
MARKETDATA = web.AppKey("marketdata")   # MarketData
RECOVERED = web.AppKey("recovered")   # dict; recover()'s report
DEMO_CREDENTIALS = web.AppKey("demo_credentials")   # dict
EXPIRY_CLOCK = web.AppKey("expiry_clock")   # asyncio.Task
OPENAPI_DOCUMENT = web.AppKey("openapi_document")   # bytes

# -- the Binance-dialect edge (exchange.api.setup)
API_SETTINGS = web.AppKey("api_settings")   # ApiSettings
KEYS = web.AppKey("api_keys")   # KeyStore
LIMITER = web.AppKey("rate_limiter")   # RateLimiter
CLIENT_IDS = web.AppKey("client_ids")   # ClientIds
KYC = web.AppKey("kyc")   # Kyc
# what API keys, accounts and sessions hold open: the one revocation point (api.grants)
GRANTS = web.AppKey("grants")   # Grants
PROXIES = web.AppKey("trusted_proxies")   # TrustedProxies; api.address
BODY_READ_TIMEOUT = web.AppKey("body_read_timeout_s")   # float; api.bounds
# opens the sealed secrets at rest (API secrets, TOTP secrets); set at start-up
SECRET_BOX = web.AppKey("secret_box")   # SecretBox

# -- the platform API (exchange.platform.setup)
PLATFORM_SETTINGS = web.AppKey("platform_settings")   # Settings
PASSWORDS = web.AppKey("passwords")   # Passwords
ATTEMPTS = web.AppKey("auth_attempts")   # RateLimiter
ACCESS_TOKENS = web.AppKey("access_tokens")   # AccessTokens; the signing secret
NOTIFIER = web.AppKey("notifier")   # Notifier
SURVEILLANCE = web.AppKey("surveillance")   # Surveillance
MAILER = web.AppKey("mailer")   # Mailer; exchange.platform.mail

# -- the WebSocket feeds
HUB = web.AppKey("hub")   # Hub
PUBLIC_FEED = web.AppKey("public_feed")   # PublicFeed
USER_FEED = web.AppKey("user_feed")   # object; the user data streams (listen keys)
WS_PING_S = web.AppKey("ws_ping_s")   # float
