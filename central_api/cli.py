"""`assistant-api`: serve, migrate, seed, create-user, audit verify, practice rotate-key,
report, and interop's `fhir import`, `import-csv` and `telephony-secret`
(`central_api.interop.cli`).

Every failure is one clear line on stderr and a non-zero exit, never a
traceback. Passwords and tokens are never logged; a generated demo password is
shown once on the terminal (stderr), so it stays out of `--json` output and logs.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from followup_core.enums import Role

PROG = "assistant-api"
INTEROP_COMMANDS = ("fhir", "import-csv", "telephony-secret")
CLI_CLIENT = "assistant-api cli"


class CliError(Exception):
    """A failure reported as one line, exit status 1."""


def _db_url(value: str | None) -> str:
    """`--db`, else `ASSISTANT_API_DB`, else the default SQLite file; a bare path means SQLite."""
    from central_api.core.config import Settings

    url = Settings(db=value).db if value else Settings().db
    try:
        make_url(url)
    except ArgumentError:
        raise CliError(
            "--db is not a database URL (sqlite:///PATH or postgresql+psycopg://…)"
        ) from None
    return url


def build_parser() -> argparse.ArgumentParser:
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument(
        "--db", help="database URL (ASSISTANT_API_DB); default: SQLite in the user data dir"
    )

    parser = argparse.ArgumentParser(prog=PROG, description="Central API of assistant-tui.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", parents=[db], help="migrate, then serve the API with uvicorn")
    serve.add_argument(
        "--host", help="address to listen on (ASSISTANT_API_HOST; default 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=int, help="port to listen on (ASSISTANT_API_PORT; default 8000)"
    )
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])

    sub.add_parser(
        "migrate", parents=[db], help="upgrade the database schema to the latest revision"
    )

    seed = sub.add_parser(
        "seed", parents=[db], help="fill an empty database with the synthetic practices"
    )
    seed.add_argument(
        "--size", type=int, default=None, help="number of tasks (default: the demo set)"
    )
    seed.add_argument(
        "--demo-password", help="password of every seeded user (default: generated, shown once)"
    )
    seed.add_argument("--json", action="store_true", help="print the seed summary as JSON")

    user = sub.add_parser(
        "create-user",
        parents=[db],
        help="add a user (password from a prompt or ASSISTANT_API_PASSWORD)",
    )
    user.add_argument("--username", required=True)
    user.add_argument("--role", required=True, choices=[r.value for r in Role])
    user.add_argument("--display-name", required=True)
    user.add_argument(
        "--practice", action="append", default=[], metavar="ID", help="practice id (repeatable)"
    )

    from central_api.practices.commands import add_parser as add_practice_parser

    _add_practice_rotate_key(add_practice_parser(sub, db), db)

    audit = sub.add_parser("audit", help="audit log tools")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    audit_sub.add_parser("verify", parents=[db], help="check the audit log's hash chain")

    report = sub.add_parser(
        "report",
        parents=[db],
        help="write a practice's weekly summary as PDF (with charts) or CSV; no patient names",
    )
    report.add_argument("--practice", required=True, metavar="ID")
    report.add_argument("--week", required=True, metavar="YYYY-Www", help="ISO week, e.g. 2026-W48")
    report.add_argument("--format", required=True, choices=["pdf", "csv"])
    report.add_argument(
        "--out",
        metavar="FILE",
        help="where to write (default: report-ID-WEEK.pdf|csv; - for stdout)",
    )

    from central_api.interop.cli import add_parsers as add_interop_parsers

    add_interop_parsers(sub, db)
    return parser


def _add_practice_rotate_key(practice_sub: Any, db: argparse.ArgumentParser) -> None:
    rotate = practice_sub.add_parser(
        "rotate-key",
        parents=[db],
        help="give a practice a new webhook key (the old one stops working); printed once",
    )
    rotate.add_argument("practice_id", metavar="ID", help="the practice's id")


def cmd_practice_rotate_key(args: argparse.Namespace) -> int:
    """Rotate practice ID's webhook key and print the new key once, on stdout."""
    from central_api.db import migrate
    from central_api.practice_keys import rotate_webhook_key

    url = _db_url(args.db)
    migrate(url)
    factory = _session_factory(url)
    with factory() as session:
        try:
            key = rotate_webhook_key(session, args.practice_id, client=CLI_CLIENT)
        except LookupError as exc:
            raise CliError(str(exc)) from None
        session.commit()
    print(key)
    print(
        "the practice's new webhook key (shown once; the old key no longer works)",
        file=sys.stderr,
    )
    return 0


PRACTICE_COMMANDS = {"rotate-key": cmd_practice_rotate_key}


def _session_factory(url: str) -> Any:
    from central_api.db import make_engine, make_session_factory

    return make_session_factory(make_engine(url))


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from central_api.app import create_app
    from central_api.core.config import Settings
    from central_api.db import migrate

    url = _db_url(args.db)
    defaults = Settings()
    host = args.host or defaults.host
    port = defaults.port if args.port is None else args.port
    if not 0 <= port <= 65535:
        raise CliError("--port must be between 0 and 65535")
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    migrate(url)
    app = create_app(defaults.model_copy(update={"db": url, "host": host, "port": port}))
    # uvicorn's own access log would print query strings; ours logs the path only.
    uvicorn.run(
        app,
        host=host,
        port=port,
        access_log=False,
        log_level=args.log_level,
        server_header=False,
        proxy_headers=False,
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from central_api.db import migrate

    migrate(_db_url(args.db))
    print("database is at the latest schema revision")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from central_api.db import migrate

    try:
        from central_api.seed import seed_database
    except ImportError:
        raise CliError("seeding is not available in this build") from None
    if args.size is not None and args.size < 1:
        raise CliError("--size must be a positive number of tasks")
    url = _db_url(args.db)
    migrate(url)
    password = args.demo_password or os.environ.get("ASSISTANT_API_DEMO_PASSWORD")
    generated = not password
    if not password:
        password = secrets.token_urlsafe(12)
    factory = _session_factory(url)
    with factory() as session, session.begin():
        try:
            summary = seed_database(session, size=args.size, demo_password=password)
        except ValueError as exc:  # SeedError and bad sizes
            raise CliError(str(exc).splitlines()[0]) from None
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        users = summary.get("users", [])
        practices = summary.get("practices", [])
        print(f"seeded {len(practices)} practices and {len(users)} users")
        for name, count in sorted(summary.get("counts", {}).items()):
            print(f"  {name}: {count}")
    if generated:
        # Shown once, on the terminal only: stderr keeps it out of --json output.
        print(f"demo password for every seeded user (shown once): {password}", file=sys.stderr)
    return 0


def _read_new_password() -> str:
    from_env = os.environ.get("ASSISTANT_API_PASSWORD")
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise CliError("no password: set ASSISTANT_API_PASSWORD or run in a terminal")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("password again: "):
        raise CliError("the passwords do not match")
    return first


def cmd_create_user(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from central_api import audit
    from central_api.core.security import hash_password
    from central_api.models import Practice, User, UserPractice

    username = args.username.strip()
    if not 1 <= len(username) <= 64:
        raise CliError("--username must be 1 to 64 characters")
    display_name = args.display_name.strip()
    if not 1 <= len(display_name) <= 200:
        raise CliError("--display-name must be 1 to 200 characters")
    url = _db_url(args.db)
    password = _read_new_password()
    from central_api.db import migrate

    migrate(url)
    if not 8 <= len(password) <= 256:
        raise CliError("the password must be 8 to 256 characters")
    factory = _session_factory(url)
    with factory() as session:
        if session.scalars(select(User.id).where(User.username == username)).first():
            raise CliError(f"user {username!r} already exists")
        for practice_id in args.practice:
            if session.get(Practice, practice_id) is None:
                raise CliError(f"no practice with id {practice_id!r}")
        user = User(
            username=username,
            display_name=display_name,
            role=args.role,
            password_hash=hash_password(password),
        )
        session.add(user)
        session.flush()
        for practice_id in dict.fromkeys(args.practice):
            session.add(UserPractice(user_id=user.id, practice_id=practice_id))
        audit.record(
            session,
            actor_id=None,
            action="user.create",
            resource=f"user:{user.id}",
            client=CLI_CLIENT,
        )
        session.commit()
        print(f"created {args.role} {username} ({user.id})")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from central_api import audit

    factory = _session_factory(_db_url(args.db))
    with factory() as session:
        result = audit.verify(session)
    if result.ok:
        print(f"audit chain intact: {result.rows} rows")
        return 0
    print(
        f"audit chain broken at row {result.broken_seq}: {result.reason} "
        f"({result.rows} rows before it check out)",
        file=sys.stderr,
    )
    return 1


def cmd_practice(args: argparse.Namespace) -> int:
    from central_api.db import migrate
    from central_api.practices.commands import PracticeCliError, run

    def factory(db: str | None) -> Any:
        url = _db_url(db)
        migrate(url)
        return _session_factory(url)

    try:
        return run(args, factory)
    except PracticeCliError as exc:
        raise CliError(str(exc)) from None


def cmd_report(args: argparse.Namespace) -> int:
    from central_api import report
    from central_api.db import begin_read, make_engine, make_session_factory, migrate
    from central_api.models import utcnow

    url = _db_url(args.db)
    migrate(url)
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            begin_read(session)
            try:
                weekly = report.build(session, args.practice, args.week, utcnow())
            except report.ReportError as exc:
                raise CliError(str(exc)) from None
    finally:
        engine.dispose()
    out = args.out or f"report-{args.practice[:32]}-{weekly.week}.{args.format}"
    if args.format == "csv":
        text = report.to_csv(weekly)
        if out == "-":
            sys.stdout.write(text)
            return 0
        Path(out).write_text(text, encoding="utf-8")
    else:
        if out == "-":
            raise CliError("a PDF is written to a file: give --out FILE")
        report.to_pdf(weekly, Path(out))
    print(f"wrote {out}")
    return 0


COMMANDS = {
    "serve": cmd_serve,
    "migrate": cmd_migrate,
    "seed": cmd_seed,
    "create-user": cmd_create_user,
    "report": cmd_report,
}


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "audit":
            return cmd_audit_verify(args)
        if args.command == "practice" and args.practice_command in PRACTICE_COMMANDS:
            return PRACTICE_COMMANDS[args.practice_command](args)
        if args.command in INTEROP_COMMANDS:
            from central_api.interop.cli import InteropCliError
            from central_api.interop.cli import run as run_interop

            try:
                return run_interop(args, _db_url(args.db))
            except InteropCliError as exc:
                raise CliError(str(exc)) from None
        if args.command == "practice":
            return cmd_practice(args)
        return COMMANDS[args.command](args)
    except CliError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(f"{PROG}: database error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        return 0
    except Exception as exc:  # last resort: still one line, never a traceback
        print(f"{PROG}: error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
