"""Every SQL read and platform write outside the batcher, per concept, as named async functions.

Each function takes a pool or a connection (``db``) as its first argument; one that
must join a caller's transaction says so. Handlers parse, call one of these and
shape the answer. This package imports nothing heavy: import its modules.
"""
