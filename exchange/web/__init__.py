"""The trading page: TypeScript sources here (``src/``, built with Vite into ``dist/``).

``page`` serves the built page (``/`` and ``/assets/<name>``); ``build``
builds it with npm when ``dist/`` is missing or older than the sources
(``exchange serve`` calls it before starting).
"""
