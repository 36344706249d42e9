"""Instructions per command of bench/engine.py's streams, counted by callgrind.

    python bench/instructions.py [--commands N] [--seed S] [--only book|sequencer]

Wall-clock rates on a shared VM move with the host; instruction counts do not,
so this is how to tell whether a change to the engine made it cheaper. For
each stream it runs the interpreter under ``valgrind --tool=callgrind`` twice,
replaying 0 and N of the timed commands after the same set-up, and prints the
difference divided by N: the bench loop's own cost included, set-up excluded.
Needs valgrind on PATH. Prints figures; asserts nothing.
"""

import argparse
import gc
import os
import pickle
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import engine  # noqa: E402  (bench/engine.py: the streams and the replay set-up)


def replay(stream, path, count):
    """Child: load the pickled streams, set up, replay ``count`` timed commands."""
    with open(path, "rb") as f:
        warm, timed = pickle.load(f)
    fresh, loop = ((engine.fresh_book, engine.book_loop) if stream == "book" else
                   (engine.fresh_sequencer, engine.sequencer_loop))
    _, work = fresh(warm, timed[:count])
    gc.disable()
    loop(work)


def count_instructions(stream, path, count):
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         __file__, "--child", stream, path, str(count)],
        capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"}).stderr  # str hashes: the same dict layouts
    return int(re.search(r"Collected : (\d+)", out).group(1))


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        replay(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--commands", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", choices=["book", "sequencer"])
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]} ({sys.executable}), callgrind, "
          f"{args.commands:,} timed commands")
    generators = {"book": engine.generate, "sequencer": engine.generate_sequencer}
    with tempfile.TemporaryDirectory() as tmp:
        for stream, generate in generators.items():
            if args.only not in (None, stream):
                continue
            path = os.path.join(tmp, f"{stream}.pickle")
            with open(path, "wb") as f:
                pickle.dump(generate(args.commands, args.seed), f)
            base = count_instructions(stream, path, 0)
            total = count_instructions(stream, path, args.commands)
            print(f"{stream:<10} {(total - base) / args.commands:>10,.0f} instructions/command")


if __name__ == "__main__":
    main()
