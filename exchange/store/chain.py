"""The hash chain that the journal (``exchange.store.audit``) and the admin actions
(``exchange.store.actions``) share: the canonical command bytes, one row's hash and the
verdict of a walk. The format is described in ``exchange.store.audit``."""

import hashlib
import struct
from dataclasses import dataclass

import orjson

GENESIS = bytes(32)
FETCH = 20_000  # journal rows per round trip when verifying

_HEAD = struct.Struct(">qqI")   # seq, ts_ns, len(kind)
_LEN = struct.Struct(">I")
_sha256 = hashlib.sha256
_dumps = orjson.dumps
_SORT = orjson.OPT_SORT_KEYS


def canonical(command: dict) -> bytes:
    """Return the canonical JSON bytes of a codec-encoded command: keys sorted, compact."""
    return _dumps(command, option=_SORT)


def row_hash(prev: bytes, seq: int, ts_ns: int, kind: str, command: bytes,
             rejected: str | None) -> bytes:
    """Return the chain hash of one journal row, given its predecessor's hash. O(len(command))."""
    # prev | seq | ts_ns | len(kind) kind | len(command) command | 0, or 1 len(reason) reason;
    # hashed as one buffer (one call instead of seven)
    k = kind.encode()
    if rejected is None:
        tail = b"\x00"
    else:
        r = str(rejected).encode()
        tail = b"\x01" + _LEN.pack(len(r)) + r
    return _sha256(b"".join((prev, _HEAD.pack(seq, ts_ns, len(k)), k, _LEN.pack(len(command)),
                             command, tail))).digest()


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of walking a chain: intact, or the first broken position and why.

    Positions are journal seqs here; ``actions.ActionsVerdict`` reports admin-action
    ids in the same fields.
    """

    what = "journal"            # what was walked, and what a position is called
    position = "seq"

    ok: bool
    rows: int                   # rows checked (up to the first break)
    head_seq: int               # last row checked that verified (0: none)
    head_hash: bytes            # its hash (GENESIS: none)
    broken_seq: int | None = None
    reason: str = ""

    def message(self) -> str:
        """Return a one-line report for people."""
        if self.ok:
            return (f"{self.what} intact: {self.rows} rows, head {self.position} "
                    f"{self.head_seq}, head hash {self.head_hash.hex()}")
        if self.broken_seq is None:
            return f"cannot verify the {self.what}: {self.reason}"
        return (f"{self.what} broken at {self.position} {self.broken_seq}: {self.reason} "
                f"({self.rows} rows verified before it, up to {self.position} "
                f"{self.head_seq})")
