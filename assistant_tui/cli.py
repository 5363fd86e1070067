"""`assistant-tui` command line: the workspace, the embedded demo and headless sync.

Subcommand modules are imported only when chosen, so `--help` and `sync` never
pay for importing Textual.
"""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant-tui",
        description="Keyboard-driven workstation for patient follow-up.",
    )
    parser.add_argument("--server", help="central API base URL (https, or http on loopback)")
    parser.add_argument("--user", help="username to sign in as")
    parser.add_argument(
        "--data-dir", help="where the encrypted cache lives (ASSISTANT_TUI_DATA_DIR)"
    )
    parser.add_argument("--ca-file", help="PEM bundle of a custom certificate authority")
    parser.add_argument("--config", help="config file (ASSISTANT_TUI_CONFIG)")
    sub = parser.add_subparsers(dest="command")

    demo = sub.add_parser(
        "demo",
        help="start an embedded central API on the synthetic practice and open the workspace",
    )
    demo.add_argument(
        "--size", type=int, default=None, help="tasks to seed (default: the demo set)"
    )

    sync = sub.add_parser("sync", help="sign in, unlock the cache, sync once and print the status")
    sync.add_argument("--server", dest="sub_server", help="central API base URL")
    sync.add_argument("--user", dest="sub_user", help="username to sign in as")
    sync.add_argument("--json", action="store_true", help="print the status as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "sync":
        from assistant_tui.headless import run_sync

        return run_sync(args)
    if args.command == "demo":
        from assistant_tui.demo import run_demo

        return run_demo(args)
    from assistant_tui.launch import run_workspace

    return run_workspace(args)


if __name__ == "__main__":
    sys.exit(main())
