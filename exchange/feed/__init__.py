"""WebSocket streams: public market data and private user streams (DESIGN §6).

``hub`` fans messages out to subscribers (serialised once, written once per
subscriber, slow ones dropped); ``public`` turns committed events into the
Binance market streams; ``streams`` serves the ``/ws`` and ``/stream``
endpoints and their SUBSCRIBE protocol.
"""

from .hub import Hub
from .public import PublicFeed
from .state import HUB, PUBLIC_FEED, USER_FEED, WS_PING_S
from .streams import routes

__all__ = ["Hub", "PublicFeed", "HUB", "PUBLIC_FEED", "USER_FEED", "WS_PING_S", "routes"]
