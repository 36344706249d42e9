"""Every SQL read and write of the shell, one module per concept, as named async functions.

Each function takes a pool or a connection (``conn`` when it must run inside the
caller's transaction) and returns plain values or records. Nothing heavy is
imported here: import the concept module itself (``from exchange.store.queries
import users``).
"""
