"""What the platform handlers share, each under a typed ``web.AppKey``."""

from aiohttp import web

from ..settings import Settings
from .mail import Mailer
from .passwords import Passwords
from ..api.ratelimit import RateLimiter
from .tokens import AccessTokens

PLATFORM_SETTINGS = web.AppKey("platform_settings", Settings)
PASSWORDS = web.AppKey("passwords", Passwords)
ATTEMPTS = web.AppKey("auth_attempts", RateLimiter)
ACCESS_TOKENS = web.AppKey("access_tokens", AccessTokens)   # set at start-up (the secret)
# session_id -> {callback}: what ends the session's open sockets (see session.on_session_end)
SESSION_SOCKETS = web.AppKey("session_sockets", dict)
MAILER = web.AppKey("mailer", Mailer)
