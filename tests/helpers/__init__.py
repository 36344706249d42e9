"""Helpers the tests of several files share, imported as ``tests.helpers.<module>``.

- ``market_flow``: random order flow and a local book kept from depth streams (api);
- ``platform_clients``: a trader with a login and an API key (platform);
- ``store_streams``: seeded command streams for the store's tests (store).
"""
