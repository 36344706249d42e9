"""The platform API's refusals: ``{"code": "<MACHINE_CODE>", "message": "..."}`` with a 4xx status.

Every refusal is a ``PlatformError``; the middleware in ``exchange.platform``
turns it, aiohttp's own HTTP errors and anything unexpected into that body.
"""


class PlatformError(Exception):
    """A refused request: machine ``code``, human ``message``, HTTP status and headers."""

    def __init__(self, status: int, code: str, message: str, *, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict:
        return {"code": self.code, "message": self.message}


# Malformed requests
def malformed_json() -> PlatformError:
    return PlatformError(400, "MALFORMED_JSON", "The request body is not valid JSON.")


def invalid_body() -> PlatformError:
    return PlatformError(400, "INVALID_BODY", "The request body must be a JSON object.")


def unknown_field(name: str) -> PlatformError:
    return PlatformError(400, "UNKNOWN_FIELD", f"Unknown field {name!r}.")


def missing_field(name: str) -> PlatformError:
    return PlatformError(400, "MISSING_FIELD", f"Field {name!r} is required.")


def invalid_field(name: str, why: str) -> PlatformError:
    return PlatformError(400, "INVALID_FIELD", f"Field {name!r} {why}.")


def unknown_parameter(name: str) -> PlatformError:
    return PlatformError(400, "UNKNOWN_PARAMETER", f"Query parameter {name!r} is not read here.")


def body_too_large(limit: int) -> PlatformError:
    return PlatformError(413, "BODY_TOO_LARGE", f"The request body is over {limit} bytes.")


def unsupported_media_type() -> PlatformError:
    return PlatformError(415, "UNSUPPORTED_MEDIA_TYPE",
                         "Send the request body as application/json.")


# Authentication
def unauthenticated(message: str = "Send 'Authorization: Bearer <access token>'.") -> PlatformError:
    return PlatformError(401, "UNAUTHENTICATED", message,
                         headers={"WWW-Authenticate": 'Bearer realm="exchange"'})


def token_error(code: str, message: str) -> PlatformError:
    return PlatformError(401, code, message,
                         headers={"WWW-Authenticate": 'Bearer realm="exchange", error="invalid_token"'})


def forbidden(message: str) -> PlatformError:
    return PlatformError(403, "FORBIDDEN", message)


def invalid_credentials() -> PlatformError:
    return PlatformError(401, "INVALID_CREDENTIALS", "Wrong email or password.")


def account_locked(retry_after_s: int) -> PlatformError:
    return PlatformError(423, "ACCOUNT_LOCKED",
                         f"Too many failed logins: the account is locked for {retry_after_s} s.",
                         headers={"Retry-After": str(retry_after_s)})


def too_many_attempts(retry_after_s: int) -> PlatformError:
    return PlatformError(429, "TOO_MANY_ATTEMPTS",
                         f"Too many attempts from this address; retry in {retry_after_s} s.",
                         headers={"Retry-After": str(retry_after_s)})


def totp_required() -> PlatformError:
    return PlatformError(401, "TOTP_REQUIRED", "Two-factor authentication is on: send 'totp'.")


def totp_invalid() -> PlatformError:
    return PlatformError(401, "TOTP_INVALID", "The TOTP code is wrong, expired or already used.")


# Query strings
def invalid_parameter(name: str, why: str) -> PlatformError:
    return PlatformError(400, "INVALID_PARAMETER", f"Query parameter {name!r} {why}.")


def unknown_symbol(symbol: str) -> PlatformError:
    return PlatformError(400, "UNKNOWN_SYMBOL", f"No instrument {symbol!r}.")
