"""`assistant-api` commands of interop: `fhir import`, `import-csv`, `telephony-secret`.

- `fhir import FILE|DIR --practice ID [--json]`: each JSON file (a Bundle, or one
  resource) imported like `POST /v1/fhir`, one transaction per file; a directory's
  files go in reference order (Patient files, Bundles, ServiceRequest, Appointment,
  Task, then by name); a rejected file prints its OperationOutcome issues and exits
  1 (the others still load).
- `import-csv --practice ID --mapping FILE CSV [--json]`: see
  `central_api.interop.csv_import`; exits 0 when every row loaded, 2 when some
  rows were bad (they are listed by line; the good rows are loaded), 1 on errors.
- `telephony-secret --practice ID`: stores the practice's provider secret, read
  from `ASSISTANT_API_TELEPHONY_SECRET` or standard input (never an argument, so
  it stays out of shell history and process lists).

All of them audit what they wrote, as client `assistant-api cli`.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

CLI_CLIENT = "assistant-api cli"
PRACTICE_HELP = (
    "the practice's id: `id` in its practice file, or `assistant-api seed --json` for the demo's"
)


class InteropCliError(Exception):
    """A failure reported as one line, exit status 1."""


def add_parsers(sub: Any, db: argparse.ArgumentParser) -> None:
    fhir = sub.add_parser("fhir", help="FHIR R4 exchange")
    fhir_sub = fhir.add_subparsers(dest="fhir_command", required=True, metavar="ACTION")
    imp = fhir_sub.add_parser(
        "import",
        parents=[db],
        help="import FHIR Bundles from a file or a directory",
        description="Import FHIR R4 JSON (a Bundle of type batch, transaction or collection, "
        "or one resource per file) of Patient, Appointment, ServiceRequest and Task into a "
        "practice, as POST /v1/fhir does. Records are matched by identifier, so importing "
        "the same files again changes nothing. Each file is one transaction: a file with an "
        "invalid resource writes nothing and its OperationOutcome names the entry.",
        epilog="exit status: 0 every file imported, 1 some file was refused (the others "
        "are imported). Example: assistant-api fhir import tests/fixtures/fhir "
        "--practice ID",
    )
    imp.add_argument(
        "path",
        metavar="FILE|DIR",
        help="a JSON file, or a directory whose *.json files are imported (Patient files "
        "first, then Bundles, ServiceRequest, Appointment, Task)",
    )
    imp.add_argument("--practice", required=True, metavar="ID", help=PRACTICE_HELP)
    imp.add_argument("--json", action="store_true", help="print the outcomes as JSON")

    csv_cmd = sub.add_parser(
        "import-csv",
        parents=[db],
        help="load appointments from a practice-management CSV",
        description="Load appointments and their patients from a practice-management "
        "export. The mapping (TOML) names the export's columns, its date formats and its "
        "status words; examples/csv-mapping.toml is a complete one for "
        "examples/worklist.csv. Bad rows are listed by line with the reason and skipped; "
        "the good rows are loaded in one transaction; the same file twice changes nothing.",
        epilog="exit status: 0 every row loaded, 2 some rows were bad (the others are "
        "loaded), 1 the mapping or the file could not be used. Example: assistant-api "
        "import-csv --practice ID --mapping examples/csv-mapping.toml examples/worklist.csv",
    )
    csv_cmd.add_argument("csv", metavar="CSV", help="the export (UTF-8, header row first)")
    csv_cmd.add_argument("--practice", required=True, metavar="ID", help=PRACTICE_HELP)
    csv_cmd.add_argument(
        "--mapping",
        required=True,
        metavar="FILE",
        help="column mapping (TOML; see examples/csv-mapping.toml)",
    )
    csv_cmd.add_argument("--json", action="store_true", help="print the result as JSON")

    secret = sub.add_parser(
        "telephony-secret",
        parents=[db],
        help="store the practice's telephony provider secret (from env or stdin)",
        description="Store the auth token the telephony provider signs its callbacks with "
        "(X-Twilio-Signature), read from ASSISTANT_API_TELEPHONY_SECRET or standard input, "
        "never from an argument. Then point the provider's call status callback at "
        "POST /v1/triggers/missed-call?practice=ID.",
    )
    secret.add_argument("--practice", required=True, metavar="ID", help=PRACTICE_HELP)
    secret.add_argument(
        "--provider",
        default="twilio",
        choices=["twilio"],
        help="whose signature to check (Twilio and providers compatible with it)",
    )


def _practice(session: Any, practice_id: str) -> Any:
    from central_api import models

    practice = session.get(models.Practice, practice_id)
    if practice is None:
        raise InteropCliError(f"no practice with id {practice_id!r}")
    return practice


def _after_import(factory: Any) -> None:
    from central_api.triggers.runner import run_once

    with factory() as session:
        run_once(session)


# A directory's files are imported in this order of their resourceType (then by name):
# what others refer to first, as `import_bundle` orders a Bundle's entries.
_FILE_ORDER = {
    "Patient": 0,
    "Bundle": 1,
    "ServiceRequest": 2,
    "Appointment": 3,
    "Task": 4,
}


def cmd_fhir_import(args: argparse.Namespace, url: str, factory: Any) -> int:
    from central_api import audit
    from central_api.interop.fhir_import import FhirRejected, import_bundle

    root = Path(args.path)
    files = sorted(root.glob("*.json")) if root.is_dir() else [root]
    if not files or not all(f.is_file() for f in files):
        raise InteropCliError(f"{args.path}: no JSON file to import")
    loaded: list[tuple[int, str, Path, Any]] = []
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise InteropCliError(f"{path.name}: not JSON ({type(exc).__name__})") from None
        rtype = data.get("resourceType") if isinstance(data, dict) else None
        if rtype not in (None, "Bundle"):
            data = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": data}]}
        loaded.append((_FILE_ORDER.get(str(rtype), len(_FILE_ORDER)), path.name, path, data))
    # Files of one resource in reference order, so an Appointment's Patient saved in
    # another file is imported before it, whatever the files' names.
    loaded.sort(key=lambda item: (item[0], item[1]))
    failed = False
    report: list[dict[str, Any]] = []
    for _rank, _name, path, data in loaded:
        with factory() as session:
            practice = _practice(session, args.practice)
            try:
                result = import_bundle(session, practice, data)
            except FhirRejected as rejected:
                session.rollback()
                failed = True
                report.append({"file": path.name, "status": 422, "outcome": rejected.outcome})
                continue
            audit.record(
                session,
                actor_id=None,
                action="fhir.import",
                resource=f"practice:{practice.id}",
                client=CLI_CLIENT,
            )
            session.commit()
            report.append({"file": path.name, "status": 200, "outcome": result.as_outcome()})
    _after_import(factory)
    if args.json:
        print(json.dumps(report))
    else:
        for item in report:
            for issue in item["outcome"]["issue"]:
                where = ",".join(issue.get("expression", []))
                print(f"{item['file']}: {issue['severity']}: {where}: {issue['diagnostics']}")
    return 1 if failed else 0


def cmd_import_csv(args: argparse.Namespace, url: str, factory: Any) -> int:
    from central_api import audit
    from central_api.interop.csv_import import (
        MappingError,
        import_csv,
        load_mapping,
        read_csv,
        summary,
    )

    try:
        mapping = load_mapping(Path(args.mapping))
        text = read_csv(Path(args.csv), mapping)
        with factory() as session:
            practice = _practice(session, args.practice)
            result = import_csv(session, practice, mapping, text)
            audit.record(
                session,
                actor_id=None,
                action="csv.import",
                resource=f"practice:{practice.id}",
                client=CLI_CLIENT,
            )
            session.commit()
    except MappingError as exc:
        raise InteropCliError(str(exc)) from None
    _after_import(factory)
    out = summary(result)
    if args.json:
        print(json.dumps(out))
    else:
        counts = ", ".join(f"{k}: {v}" for k, v in out["counts"].items()) or "nothing"
        print(f"{out['loaded']} of {out['rows']} rows loaded ({counts})")
        for bad in out["bad_rows"]:
            print(f"line {bad['line']}: {bad['reason']}", file=sys.stderr)
    return 2 if result.bad else 0


def cmd_telephony_secret(args: argparse.Namespace, url: str, factory: Any) -> int:
    from central_api import audit, models

    secret = os.environ.get("ASSISTANT_API_TELEPHONY_SECRET", "")
    if not secret:
        secret = getpass.getpass("secret: ") if sys.stdin.isatty() else sys.stdin.readline()
    secret = secret.strip()
    if not 16 <= len(secret) <= 128:
        raise InteropCliError("the secret must be 16 to 128 characters")
    with factory() as session:
        practice = _practice(session, args.practice)
        account = session.get(models.TelephonyAccount, practice.id)
        if account is None:
            account = models.TelephonyAccount(practice_id=practice.id)
            session.add(account)
        account.provider = args.provider
        account.auth_token = secret
        account.updated_at = models.utcnow()
        audit.record(
            session,
            actor_id=None,
            action="telephony.secret",
            resource=f"practice:{practice.id}",
            client=CLI_CLIENT,
        )
        session.commit()
    print(f"telephony secret stored for practice {args.practice}")
    return 0


def run(args: argparse.Namespace, url: str) -> int:
    """Dispatch an interop command on the database at `url` (migrated first)."""
    from central_api.db import make_engine, make_session_factory, migrate

    migrate(url)
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        if args.command == "fhir":
            return cmd_fhir_import(args, url, factory)
        if args.command == "import-csv":
            return cmd_import_csv(args, url, factory)
        return cmd_telephony_secret(args, url, factory)
    finally:
        engine.dispose()


COMMANDS = ("fhir", "import-csv", "telephony-secret")
