"""The REST edge in Binance's spot dialect (aiohttp).

One module per concept: ``params`` (strict parsing), ``auth`` (API keys and
HMAC signatures), ``ratelimit`` (request weights), ``errors`` (Binance codes),
``market`` (public data), ``exchange_info``, ``orders``, ``account``,
``history`` (SQL over the durable tables), ``views`` (JSON shapes).
``setup(app)`` wires them into an application that holds the venue and pool.
"""

from .app import setup
from .auth import KeyStore, sign
from .state import ApiSettings

__all__ = ["setup", "KeyStore", "sign", "ApiSettings"]
