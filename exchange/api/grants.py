"""One revocation point: what an API key, an account or a login session keeps open.

Whatever lets a credential open something that outlives the request — a
listen key (``POST /api/v3/userDataStream``) and the sockets it admits, a
``/ws-api/v3`` logon or signed subscription, the web page's ``/api/v1/ws``
socket — ``hold``s it here, under the API key (if any), the account, and the
login session (if any), with the function that ends it. Then:

- ``revoke_key``: an API key was revoked (``DELETE /api/v1/api-keys/K``);
- ``revoke_account``: the account was locked out or its role changed;
- ``end_session``: a login session ended (logout, password change, a reused
  refresh token);

each ends, at once and before the revoking request answers, everything held
under it, and forgets the cached API keys concerned (``api.auth.KeyStore``),
so the next signed request reads the table again. An end is called with a
short reason (a close frame's text) and at most once.

Complexity: ``hold`` and a grant's ``forget`` O(1); a revocation O(what it ends).
"""

from .auth import KeyStore

KEY_REVOKED = "API key revoked"
ACCOUNT_LOCKED = "account locked"
ROLE_CHANGED = "account role changed"
SESSION_ENDED = "session ended"


class Grant:
    """One held thing: its end and the tags it is filed under."""

    __slots__ = ("end", "tags", "grants")

    def __init__(self, end, tags, grants):
        self.end = end
        self.tags = tags
        self.grants = grants

    def forget(self) -> None:
        """Stop holding (the thing ended by itself); idempotent."""
        by_tag = self.grants._by_tag
        for tag in self.tags:
            held = by_tag.get(tag)
            if held is not None:
                held.discard(self)
                if not held:
                    del by_tag[tag]
        self.tags = ()


class Grants:
    def __init__(self, keys: KeyStore | None = None):
        self.keys = keys
        self._by_tag = {}   # ("key", api key) | ("account", id) | ("session", id) -> {Grant}

    def hold(self, end, *, account: int, api_key: str | None = None,
             session_id: str | None = None) -> Grant:
        """File ``end(reason)`` under the account, and the API key and login session that
        opened it; return the grant (``forget()`` it when the thing ends by itself)."""
        tags = [("account", account)]
        if api_key is not None:
            tags.append(("key", api_key))
        if session_id is not None:
            tags.append(("session", session_id))
        grant = Grant(end, tuple(tags), self)
        for tag in grant.tags:
            self._by_tag.setdefault(tag, set()).add(grant)
        return grant

    def revoked(self, api_key: str) -> bool:
        """Whether ``api_key`` was revoked while this process ran (a request that checked
        it before the revocation must not hold anything for it after)."""
        return self.keys is not None and self.keys.is_revoked(api_key)

    def held(self, *, account: int | None = None, api_key: str | None = None,
             session_id: str | None = None) -> int:
        """How many things are held under the account, key or session given."""
        tag = (("account", account) if account is not None else ("key", api_key)
               if api_key is not None else ("session", session_id))
        return len(self._by_tag.get(tag, ()))

    def _end(self, tag, reason: str) -> int:
        grants = list(self._by_tag.get(tag, ()))
        for grant in grants:
            grant.forget()
        for grant in grants:
            grant.end(reason)
        return len(grants)

    def revoke_key(self, api_key: str, reason: str = KEY_REVOKED) -> int:
        """API key ``api_key`` was revoked: end what it opened; return how many."""
        if self.keys is not None:
            self.keys.revoke(api_key)
        return self._end(("key", api_key), reason)

    def revoke_account(self, account: int, reason: str) -> int:
        """The account was locked out or its role changed: end everything any of its keys
        or sessions opened; return how many."""
        if self.keys is not None:
            self.keys.forget_account(account)
        return self._end(("account", account), reason)

    def end_session(self, session_id: str, reason: str = SESSION_ENDED) -> int:
        """Login session ``session_id`` ended: end what it opened; return how many."""
        return self._end(("session", session_id), reason)

