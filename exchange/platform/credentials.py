"""The fields that carry credentials: an email address, a new password (the policy)."""

import re

from aiohttp import web

from . import body, errors
from ..keys import PLATFORM_SETTINGS

MAX_EMAIL_CHARS = 254
MAX_PASSWORD_CHARS = 1024
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
                    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")


def email_field(data: dict) -> str:
    """Field ``email``, shaped like an address, in lower case."""
    email = body.string(data, "email", max_len=MAX_EMAIL_CHARS)
    if not _EMAIL.fullmatch(email):
        raise errors.PlatformError(400, "INVALID_EMAIL", "Field 'email' is not an email address.")
    return email.lower()


def new_password_field(request: web.Request, data: dict, name: str) -> str:
    """Field ``name`` as a password meeting the policy (minimum length)."""
    password = body.string(data, name, max_len=MAX_PASSWORD_CHARS)
    minimum = request.app[PLATFORM_SETTINGS].password_min_length
    if len(password) < minimum:
        raise errors.PlatformError(400, "WEAK_PASSWORD",
                                   f"Field {name!r} must be at least {minimum} characters.")
    return password
