"""WebSocket streams: public market data and private user streams (DESIGN §6).

``hub`` fans messages out to subscribers (serialised once, written once per
subscriber, slow ones dropped); ``public`` turns committed events into the
Binance market streams; ``streams`` serves the ``/ws`` and ``/stream``
endpoints and their SUBSCRIBE protocol; ``user`` turns committed events into
each account's user data events and keeps the listen keys
(``/api/v3/userDataStream``); ``wsapi`` serves Binance's WebSocket API
subset for user data (``/ws-api/v3``); ``private`` the web page's
JWT-authenticated socket (``/api/v1/ws``).
"""

from . import private, streams, user, wsapi
from .hub import Hub
from .public import PublicFeed
from .user import UserFeed

routes = [*streams.routes, *user.routes, *wsapi.routes, *private.routes]

__all__ = ["Hub", "PublicFeed", "UserFeed", "routes"]
