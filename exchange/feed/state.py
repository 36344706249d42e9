"""What the feed shares, each under a typed ``web.AppKey``."""

from aiohttp import web

from .hub import Hub
from .public import PublicFeed

HUB = web.AppKey("hub", Hub)
PUBLIC_FEED = web.AppKey("public_feed", PublicFeed)
USER_FEED = web.AppKey("user_feed", object)    # set by the user data streams (listen keys)
WS_PING_S = web.AppKey("ws_ping_s", float)
