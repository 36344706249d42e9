"""Command line: ``exchange serve | migrate | role | audit verify | audit replay | secrets |
demo``.

``exchange`` alone prints the help and exits 2 (a usage error, like any
other argparse usage error). Every command that opens the database takes it
from the same settings (``Settings.data_path()``, ``database_url``), so
``migrate``, ``role``, ``audit`` and ``secrets`` find the data directory
``serve`` uses.
"""

import argparse
import asyncio
import sys


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="exchange", description="A self-hosted stock exchange server.",
        epilog="Every command reads config.toml, then EXCHANGE_* variables, then its flags; "
               "`exchange COMMAND -h` describes one. Without a database_url the commands "
               "share an embedded PostgreSQL in the data directory (./data by default).")
    sub = ap.add_subparsers(dest="cmd", metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the venue's HTTP server")
    serve.add_argument("--host", help="address to listen on (EXCHANGE_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (EXCHANGE_PORT)")
    serve.add_argument("--data-dir", help="data directory: embedded PostgreSQL, demo "
                       "credentials (EXCHANGE_DATA_DIR)")
    serve.add_argument("--log-format", choices=("text", "json"),
                       help="log lines as text or JSON objects (EXCHANGE_LOG_FORMAT)")
    migrate = sub.add_parser("migrate", help="apply the database migrations and exit")
    migrate.add_argument("--data-dir", help="data directory of the embedded PostgreSQL "
                         "(default: the one serve uses, EXCHANGE_DATA_DIR or ./data)")
    role = sub.add_parser("role", help="set an account's platform role "
                          "(trader, operator, compliance)")
    role.add_argument("account", help="the account id or the login email")
    role.add_argument("role", help="trader, operator or compliance")
    role.add_argument("--data-dir", help="data directory of the embedded PostgreSQL "
                      "(default: the one serve uses, EXCHANGE_DATA_DIR or ./data)")
    audit = sub.add_parser("audit", help="the journal's audit trail")
    audit_sub = audit.add_subparsers(dest="audit_cmd", required=True)
    verify = audit_sub.add_parser("verify", help="recompute the hash chains of the journal "
                                  "and of the admin actions; exit 1 and name the first broken "
                                  "row if one does not verify")
    verify.add_argument("--data-dir", help="data directory of the embedded PostgreSQL "
                        "(default: the one serve uses, EXCHANGE_DATA_DIR or ./data)")
    replay = audit_sub.add_parser("replay", help="replay the whole journal from its first "
                                  "command and compare every row of the state tables, and "
                                  "each stored snapshot, with the replayed state; exit 1 and "
                                  "name the first difference (takes time in proportion to "
                                  "the whole history)")
    replay.add_argument("--data-dir", help="data directory of the embedded PostgreSQL "
                        "(default: the one serve uses, EXCHANGE_DATA_DIR or ./data)")
    secrets_cmd = sub.add_parser("secrets", help="the secrets at rest (API and TOTP secrets)")
    secrets_sub = secrets_cmd.add_subparsers(dest="secrets_cmd", required=True)
    rotate = secrets_sub.add_parser(
        "rotate", help="re-seal every API and TOTP secret under a new key; with the key file "
        "(<data-dir>/secrets-key) the new key is made and the file updated, a running server "
        "follows; with EXCHANGE_SECRETS_KEY, put the new key first and restart before")
    rotate.add_argument("--data-dir", help="data directory: embedded PostgreSQL, secrets-key "
                        "(default: the one serve uses, EXCHANGE_DATA_DIR or ./data)")
    secrets_sub.add_parser("new-key", help="print a new key for EXCHANGE_SECRETS_KEY")
    sub.add_parser("demo", help="run the engine demo")
    args = ap.parse_args(argv)
    if args.cmd is None:
        ap.print_help()
        sys.exit(2)
    if args.cmd == "demo":
        from .demo import main as demo
        demo()
        return
    if args.cmd == "secrets" and args.secrets_cmd == "new-key":
        from .store.sealing import new_key
        print(new_key())
        return
    from . import settings as config
    try:
        overrides = {"data_dir": args.data_dir}
        if args.cmd == "serve":
            overrides.update(host=args.host, port=args.port, log_format=args.log_format)
        settings = config.load(overrides)
    except ValueError as e:
        sys.exit(f"exchange: {e}")
    if args.cmd == "serve":
        from .server import serve as run
        run(settings)
    elif args.cmd == "migrate":
        from .server import migrate_only
        applied = asyncio.run(migrate_only(settings))
        print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))
    elif args.cmd == "role":
        from .platform.roles import RoleError
        from .server import set_account_role
        try:
            account_id, previous = asyncio.run(set_account_role(settings, args.account,
                                                                args.role))
        except RoleError as e:
            sys.exit(f"exchange: {e}")
        print(f"account {account_id}: role {previous} -> {args.role}")
    elif args.cmd == "audit" and args.audit_cmd == "replay":
        from .store.recovery import audit_replay_configured
        ok, message = asyncio.run(audit_replay_configured(settings))
        if not ok:
            sys.exit(f"exchange: audit: {message}")
        print(message)
    elif args.cmd == "secrets":
        from .rotation import rotate as rotate_secrets
        from .store.sealing import SealingError
        try:
            report = asyncio.run(rotate_secrets(settings))
        except SealingError as e:
            sys.exit(f"exchange: secrets rotate: {e}")
        rows = ", ".join(f"{n} in {table}" for table, n in report["rows"].items())
        where = report["key_file"] or "EXCHANGE_SECRETS_KEY (its first key)"
        print(f"re-sealed {rows} under the new key of {where}")
    elif args.cmd == "audit":
        from .store.audit import verify_all_configured
        verdicts = asyncio.run(verify_all_configured(settings))
        if not all(v.ok for v in verdicts):
            sys.exit("\n".join(f"exchange: audit: {v.message()}" for v in verdicts))
        print("\n".join(v.message() for v in verdicts))


if __name__ == "__main__":
    main()
