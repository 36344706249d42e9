"""Secrets at rest: HMAC API secrets and TOTP secrets sealed with Fernet (``cryptography``).

A sealed value is ``sealed:v1:<Fernet token>`` (AES-128-CBC + HMAC-SHA256,
authenticated). The keys live outside the database: in the setting
``secrets_key`` (``EXCHANGE_SECRETS_KEY``: Fernet keys separated by commas,
the first one seals) or else in ``<data_dir>/secrets-key`` (mode 0600, one
key a line, the first one seals), created with one new key on first start.
Every key listed opens (``MultiFernet``), so a rotation can add a key before
the rows are re-sealed.

The key file may change under a running server (``exchange secrets rotate``):
before sealing, the box looks at the file (one ``stat``) and reads it again
when it changed, and a value no listed key opens makes it read the file again
once, so a server keeps working through a rotation without a restart.
"""

import os
import pathlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "sealed:v1:"
KEY_FILE = "secrets-key"


class SealingError(RuntimeError):
    """A sealed value that no configured key opens, or an unusable key."""


def new_key() -> str:
    """Return a new Fernet key (url-safe base64 of 32 random bytes)."""
    return Fernet.generate_key().decode()


def is_sealed(value: str | None) -> bool:
    return value is not None and value.startswith(PREFIX)


def _parse(text: str, where: str) -> list[str]:
    keys = [k.strip() for k in text.replace(",", "\n").splitlines() if k.strip()]
    if not keys:
        raise SealingError(f"{where} holds no key")
    for k in keys:
        try:
            Fernet(k)
        except ValueError:
            raise SealingError(f"{where} holds a malformed key (need 32 url-safe "
                               f"base64-encoded bytes, as `exchange secrets new-key` prints)"
                               ) from None
    return keys


def write_key_file(path: pathlib.Path, keys: list[str]) -> None:
    """Replace the key file with ``keys`` (first one seals), atomically, mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(keys) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class SecretBox:
    """Seal and open secrets with the configured keys (see the module docstring)."""

    def __init__(self, keys: list[str], path: pathlib.Path | None = None):
        self._path = path          # the key file, None when the keys come from the setting
        self._stamp = self._file_stamp()
        self._use(keys)

    @classmethod
    def load(cls, configured: str, data_dir: str) -> "SecretBox":
        """The keys of the setting, else of ``<data_dir>/secrets-key`` (created if absent)."""
        if configured:
            return cls(_parse(configured, "the setting secrets_key"))
        path = pathlib.Path(data_dir) / KEY_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return cls(_parse(path.read_text(), str(path)), path)
        key = new_key()
        with os.fdopen(fd, "w") as f:
            f.write(key + "\n")
        return cls([key], path)

    @property
    def keys(self) -> list[str]:
        return list(self._keys)

    @property
    def path(self) -> pathlib.Path | None:
        return self._path

    def _use(self, keys: list[str]) -> None:
        self._keys = keys
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def _file_stamp(self):
        if self._path is None:
            return None
        try:
            st = os.stat(self._path)
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def reload(self) -> bool:
        """Read the key file again if it changed; return whether the keys changed."""
        stamp = self._file_stamp()
        if self._path is None or stamp is None or stamp == self._stamp:
            return False
        keys = _parse(self._path.read_text(), str(self._path))
        self._stamp = stamp
        changed = keys != self._keys
        self._use(keys)
        return changed

    def seal(self, secret: str) -> str:
        """Return ``secret`` sealed under the first key."""
        self.reload()
        return PREFIX + self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        """Return the secret in ``sealed``; raise ``SealingError`` if it is not sealed or no
        key opens it."""
        if not is_sealed(sealed):
            raise SealingError("the value is not sealed (plaintext in the database?)")
        token = sealed[len(PREFIX):].encode()
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken:
            if self.reload():
                try:
                    return self._fernet.decrypt(token).decode()
                except InvalidToken:
                    pass
        raise SealingError("no configured key opens this sealed value")

    def reseal(self, sealed: str) -> str:
        """Return ``sealed`` sealed again under the first key (a plaintext value: sealed)."""
        if not is_sealed(sealed):
            return self.seal(sealed)
        try:
            return PREFIX + self._fernet.rotate(sealed[len(PREFIX):].encode()).decode()
        except InvalidToken:
            raise SealingError("no configured key opens this sealed value") from None
