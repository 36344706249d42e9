"""Account roles: ``trader`` (everyone), ``operator`` (credits deposits, resolves
withdrawals), ``compliance`` (reserved for read-only oversight).

The role lives in ``accounts.role``; ``session.authenticate`` reads it on every
request and ``session.require_role`` checks it. ``set_role`` is what
``exchange role <email-or-account-id> <role>`` runs; each change is recorded in
the admin actions' chain (``exchange.store.actions``) in the same transaction.
"""

from ..keys import POOL
from ..store.actions import record_admin_action
from ..store.queries import accounts
from . import query
from .errors import PlatformError

ROLES = ("trader", "operator", "compliance")


async def path_account(request) -> int:
    """The existing account an admin route's path names (``{account_id}``): 400 if it is
    not an id, 404 if there is no such account."""
    account = query.path_id(request, "account_id")
    if not await accounts.exists(request.app[POOL], account):
        raise PlatformError(404, "UNKNOWN_ACCOUNT", f"No account {account}.")
    return account


class RoleError(ValueError):
    """No such role, or no such account."""


async def set_role(pool, who: str, role: str, caller=None) -> tuple[int, str]:
    """Give the account ``who`` (an account id or a login email) ``role``, as ``caller``
    (None: the command line).

    Returns ``(account_id, previous role)``; RoleError if the role or the
    account is unknown. Takes effect on the account's next request.
    """
    if role not in ROLES:
        raise RoleError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    who = who.strip()
    async with pool.acquire() as conn:
        async with conn.transaction():
            account_id = await accounts.find(conn, who)
            if account_id is None:
                raise RoleError(f"no account {who!r} (give an account id or a login email)")
            previous = await accounts.set_role(conn, account_id, role)
            await record_admin_action(conn, caller, "role.set", f"account:{account_id}",
                                      {"role": role, "previous": previous})
    return account_id, previous
