"""`assistant-api practice check | diff | apply | export | drafts | approve-script`.

Whoever runs these has the database (like `create-user`); `--by` names the
admin or supervisor acting, who is recorded as the author of new script drafts
or as the approver. Every failure is one line and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from central_api.models import utcnow

CLIENT = "assistant-api practice"


class PracticeCliError(Exception):
    """One line for stderr, exit status 1."""


def add_parser(sub: Any, db: argparse.ArgumentParser) -> Any:
    """The `practice` command and its actions, on `sub` (argparse subparsers).

    Returns the actions' subparsers, so the CLI can add actions kept elsewhere
    (`rotate-key`, with the other secrets in `central_api.practice_keys`)."""
    practice = sub.add_parser("practice", help="set up a practice from its TOML file")
    actions = practice.add_subparsers(dest="practice_command", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="report every problem in a file, with its line")
    check.add_argument("file", type=Path)
    diff = actions.add_parser("diff", parents=[db], help="show what applying the file would change")
    diff.add_argument("file", type=Path)
    apply = actions.add_parser(
        "apply", parents=[db], help="apply the file in one transaction (all or nothing)"
    )
    apply.add_argument("file", type=Path)
    apply.add_argument(
        "--by", required=True, metavar="USERNAME", help="the admin or supervisor applying"
    )
    apply.add_argument("--json", action="store_true", help="print the result as JSON")
    export = actions.add_parser("export", parents=[db], help="write a practice as a file")
    export.add_argument("practice_id", metavar="ID")
    export.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    drafts = actions.add_parser("drafts", parents=[db], help="list script drafts awaiting approval")
    drafts.add_argument("practice_id", metavar="ID")
    approve = actions.add_parser(
        "approve-script", parents=[db], help="approve a workflow's latest script draft"
    )
    approve.add_argument("practice_id", metavar="ID")
    approve.add_argument("workflow")
    approve.add_argument(
        "--by", required=True, metavar="USERNAME", help="the approving supervisor or admin"
    )
    return actions


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PracticeCliError(f"cannot read {path}: {exc.__class__.__name__}") from None


def _checked(path: Path) -> Any:
    from followup_core.practice_toml import check_text

    model, problems = check_text(_read(path))
    if problems:
        for p in problems:
            print(f"{path}:{p.line}: {p.message} [{p.rule}]", file=sys.stderr)
        raise PracticeCliError(f"{path}: {len(problems)} problem(s); nothing was changed")
    assert model is not None
    return model


def run(args: argparse.Namespace, session_factory: Any) -> int:
    """Run one `practice` action; `session_factory(url)` opens the database."""
    action = args.practice_command
    if action == "check":
        model = _checked(args.file)
        print(f"{args.file}: ok ({len(model.workflows)} workflow(s), {len(model.staff)} staff)")
        return 0
    factory = session_factory(args.db)
    if action == "diff":
        from central_api.practices.apply import plan

        model = _checked(args.file)
        with factory() as session:
            print("\n".join(plan(session, model).lines()))
        return 0
    if action == "apply":
        return _apply(args, factory)
    if action == "export":
        return _export(args, factory)
    if action == "drafts":
        return _drafts(args, factory)
    return _approve(args, factory)


def _apply(args: argparse.Namespace, factory: Any) -> int:
    from central_api.practices.apply import PracticeApplyError, apply_file

    model = _checked(args.file)
    with factory() as session, session.begin():
        try:
            result = apply_file(session, model, by=args.by, client=CLIENT, now=utcnow())
        except PracticeApplyError as exc:
            raise PracticeCliError(str(exc)) from None
    if args.json:
        print(
            json.dumps(
                {
                    "practice_id": model.practice.id,
                    "changes": result.plan.lines() if not result.plan.empty else [],
                    "drafts": result.drafts,
                    "setup_codes": result.setup_codes,
                    "webhook_key": result.webhook_key,
                }
            )
        )
        return 0
    print("\n".join(result.plan.lines()))
    if result.webhook_key:
        print(f"missed-call webhook key (shown once): {result.webhook_key}")
    for username, code in result.setup_codes.items():
        print(f"set-up code for {username} (shown once, expires in 72 h): {code}")
    if result.drafts:
        print("script drafts await approval by a supervisor or admin other than you:")
        for workflow in result.drafts:
            print(
                f"  assistant-api practice approve-script {model.practice.id} {workflow} --by NAME"
            )
    return 0


def _export(args: argparse.Namespace, factory: Any) -> int:
    from central_api import models
    from central_api.practices.state import export_data
    from followup_core.practice_toml import render

    with factory() as session:
        practice = session.get(models.Practice, args.practice_id)
        if practice is None:
            raise PracticeCliError(f"no practice with id {args.practice_id!r}")
        text = render(
            export_data(session, practice),
            header=f"Exported from assistant-api on {utcnow():%Y-%m-%d %H:%M} UTC.",
        )
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


def _drafts(args: argparse.Namespace, factory: Any) -> int:
    from sqlalchemy import select

    from central_api import models

    with factory() as session:
        rows = session.scalars(
            select(models.Script)
            .where(models.Script.practice_id == args.practice_id, models.Script.status == "draft")
            .order_by(models.Script.workflow, models.Script.version)
        ).all()
        authors = {u.id: u.username for u in session.scalars(select(models.User))}
        for row in rows:
            print(
                f"{row.id}  {row.workflow} v{row.version}  by {authors.get(row.author_id or '', '?')}"
            )
        if not rows:
            print("no drafts")
    return 0


def _approve(args: argparse.Namespace, factory: Any) -> int:
    from sqlalchemy import select

    from central_api import models
    from central_api.practices.approval import ApprovalError, approve_script

    with factory() as session, session.begin():
        approver = session.scalars(
            select(models.User).where(models.User.username == args.by)
        ).first()
        if approver is None:
            raise PracticeCliError(f"no user {args.by!r}")
        draft = session.scalars(
            select(models.Script)
            .where(
                models.Script.practice_id == args.practice_id,
                models.Script.workflow == args.workflow,
                models.Script.status == "draft",
            )
            .order_by(models.Script.version.desc())
        ).first()
        if draft is None:
            raise PracticeCliError(f"no draft of {args.workflow} in practice {args.practice_id!r}")
        try:
            script = approve_script(session, draft.id, approver, now=utcnow(), client=CLIENT)
        except ApprovalError as exc:
            raise PracticeCliError(str(exc)) from None
        print(f"approved {script.workflow} v{script.version} ({script.id}) by {approver.username}")
    return 0
