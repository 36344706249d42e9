"""Digest of every event of bench/engine.py's two streams, to prove a change kept them.

    python bench/digest.py [--commands N] [--seed S]

Prints sha256 over the ``repr`` of every event the book and the sequencer return on
bench/engine.py's streams (the sequencer's with the ``DepthUpdated`` of
``depth_changes()`` after each command), and a second digest in which every
``StrEnum`` member reads as its plain string (so a field that becomes an enum of the
same values keeps that digest).
"""

import argparse
import hashlib
import sys
from enum import StrEnum
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import engine as bench  # noqa: E402

from exchange.engine import Event, OrderBook, Sequencer  # noqa: E402


def plain(v):
    """``v`` with StrEnum members as plain strings, events and containers recursively."""
    if isinstance(v, StrEnum):
        return str(v)
    if isinstance(v, Event):
        return (type(v).__name__, tuple((k, plain(getattr(v, k))) for k in type(v).__slots__))
    if isinstance(v, (tuple, list)):
        return tuple(plain(x) for x in v)
    return v


class Digest:
    def __init__(self):
        self.raw, self.plain, self.count = hashlib.sha256(), hashlib.sha256(), 0

    def add(self, events):
        for ev in events:
            self.raw.update(repr(ev).encode())
            self.plain.update(repr(plain(ev)).encode())
            self.count += 1

    def line(self, name):
        return f"{name:<10} {self.count:>8} events  raw {self.raw.hexdigest()[:16]}  plain {self.plain.hexdigest()[:16]}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--commands", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    warm, timed = bench.generate(args.commands, args.seed)
    book, d = OrderBook(), Digest()
    for op, a in warm + timed:
        d.add(getattr(book, op)(*a))
    print(d.line("book"))
    warm, timed = bench.generate_sequencer(args.commands, args.seed)
    seq, d = Sequencer(), Digest()
    for cmd in bench.sequencer_setup() + warm + timed:
        d.add(seq.apply(cmd))
        d.add(seq.depth_changes())
    seq.check()
    print(d.line("sequencer"))


if __name__ == "__main__":
    main()
