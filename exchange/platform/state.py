"""What the platform handlers share, each under a typed ``web.AppKey``."""

from aiohttp import web

from ..settings import Settings
from .passwords import Passwords
from ..api.ratelimit import RateLimiter
from .tokens import AccessTokens

PLATFORM_SETTINGS = web.AppKey("platform_settings", Settings)
PASSWORDS = web.AppKey("passwords", Passwords)
ATTEMPTS = web.AppKey("auth_attempts", RateLimiter)
ACCESS_TOKENS = web.AppKey("access_tokens", AccessTokens)   # set at start-up (the secret)
