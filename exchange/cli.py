"""Command line: ``exchange demo`` (more commands arrive with the server)."""

import argparse


def main(argv=None):
    ap = argparse.ArgumentParser(prog="exchange")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("demo", help="run the engine demo")
    args = ap.parse_args(argv)
    if args.cmd == "demo":
        from .demo import main as demo
        demo()


if __name__ == "__main__":
    main()
