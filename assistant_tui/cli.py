"""`assistant-tui` command line: the workspace, the embedded demo and headless sync.

Subcommand modules are imported only when chosen, so `--help` and `sync` never
pay for importing Textual.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

EPILOG = """\
environment:
  ASSISTANT_TUI_DATA_DIR    data directory (same as --data-dir)
  ASSISTANT_TUI_CONFIG      config file (same as --config)
  ASSISTANT_TUI_PASSWORD    password for `sync`, where no one can type it
  ASSISTANT_TUI_PASSPHRASE  cache passphrase for `sync`, where no one can type it

examples:
  assistant-tui demo                        try it: embedded API, synthetic practice
  assistant-tui demo --as supervisor        the same, signed in as the demo supervisor
  assistant-tui --server https://api.example.org --user avery
  assistant-tui sync --server URL --user NAME --json
  assistant-tui web --server https://api.example.org   every mode in a browser, on 127.0.0.1
  assistant-tui script-preview practice.toml missed-call-recovery
"""


def _port(text: str) -> int:
    """argparse type: a TCP port, 1-65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, not {port}")
    return port


def _port_or_zero(text: str) -> int:
    """argparse type: a TCP port, or 0 for a free one."""
    return 0 if text.strip() == "0" else _port(text)


def _positive_int(text: str) -> int:
    """argparse type: a whole number above zero."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _seconds(text: str) -> float:
    """argparse type: seconds, 0 or more (finite)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, not {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant-tui",
        description=(
            "Keyboard-driven workstation for patient follow-up. Without a command it "
            "signs in to the central API at --server, unlocks the encrypted local cache "
            "and opens the workspace."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--server",
        metavar="URL",
        help="central API base URL: https, or plain http only on loopback (127.0.0.1)",
    )
    parser.add_argument(
        "--user", metavar="NAME", help="username to sign in as (prefilled on the sign-in screen)"
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where the encrypted cache and its key material live "
        "(default: the user data directory; env ASSISTANT_TUI_DATA_DIR)",
    )
    parser.add_argument(
        "--ca-file",
        metavar="PEM",
        help="PEM bundle of a custom certificate authority, for a server with a private CA",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="TOML config file with keymap, idle lock and retention "
        "(env ASSISTANT_TUI_CONFIG; default: the user config directory)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="start an embedded central API on the synthetic practice and open the workspace",
        description=(
            "Seed a synthetic practice into a fresh SQLite file under DATA_DIR/demo, start "
            "the central API on 127.0.0.1, sign in the demo assistant (or, with --as, the "
            "seeded supervisor, trainer or manager), sync and open that role's view. A "
            "simulated phone system reports missed calls while it runs. The API URL, demo "
            "login and cache passphrase are written to DATA_DIR/demo/demo.json (mode 0600). "
            "Quitting stops the server."
        ),
    )
    demo.add_argument(
        "--as",
        dest="as_role",
        choices=["assistant", "supervisor", "trainer", "manager"],
        default="assistant",
        help="sign in as the seeded user of this role and open its view (default: assistant)",
    )
    demo.add_argument(
        "--size",
        type=_positive_int,
        default=None,
        metavar="N",
        help="number of tasks to seed (default: the seeder's small demo set)",
    )
    demo.add_argument(
        "--missed-call-every",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help="how often the simulated phone system reports a missed call (0: never; default 60)",
    )
    demo.add_argument(
        "--port",
        type=_port,
        default=None,
        help="port of the embedded API on 127.0.0.1 (default: a free one)",
    )

    sync = sub.add_parser(
        "sync",
        help="sign in, unlock the cache, sync once and print the status",
        description=(
            "Headless: sign in (password from ASSISTANT_TUI_PASSWORD or a prompt), unlock "
            "the cache (ASSISTANT_TUI_PASSPHRASE or a prompt), pull and push once, and "
            "print online, outbox depth, needs-attention, last sync and open tasks."
        ),
    )
    sync.add_argument("--server", dest="sub_server", metavar="URL", help="central API base URL")
    sync.add_argument("--user", dest="sub_user", metavar="NAME", help="username to sign in as")
    sync.add_argument("--json", action="store_true", help="print the status as one JSON object")
    web = sub.add_parser(
        "web",
        help="serve the App to a browser (textual-serve), on loopback by default",
        description=(
            "Serve assistant-tui to a web browser through textual-serve: open the printed "
            "URL, sign in on the same sign-in screen as the terminal, and your role's "
            "modes open. Each browser tab runs its own App process; each user's cache is "
            "encrypted with their own passphrase in the data directory. No TLS and no "
            "login in front of the App: it listens on 127.0.0.1 unless --allow-remote "
            "(then put a TLS reverse proxy in front of it)."
        ),
    )
    web.add_argument("--server", dest="web_server", metavar="URL", help="central API base URL")
    web.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; non-loopback needs --allow-remote)",
    )
    web.add_argument(
        "--port",
        type=_port_or_zero,
        default=8765,
        help="port to listen on (default 8765; 0 picks a free one and prints it)",
    )
    web.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (no TLS here: use a TLS reverse proxy)",
    )
    web.add_argument(
        "--public-url",
        metavar="URL",
        help="the origin browsers use, when behind a reverse proxy (e.g. https://vma.example.org)",
    )
    web.add_argument(
        "--max-sessions",
        type=_positive_int,
        default=20,
        metavar="N",
        help="browser sessions (App processes) at once; more get 503 (default 20)",
    )
    preview = sub.add_parser(
        "script-preview",
        help="show a practice file's script draft in the script pane, with sample data",
        description=(
            "Read FILE (a practice TOML file), fill WORKFLOW's script with synthetic sample "
            "data and show it in the workspace's script pane: space steps, number keys pick "
            "branches, v shows the voicemail-safe variant, q quits. Nothing is sent anywhere."
        ),
    )
    preview.add_argument("file", metavar="FILE")
    preview.add_argument("workflow", metavar="WORKFLOW", help="e.g. missed-call-recovery")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    Never ends in a Python traceback: argparse reports bad flags (exit 2), each
    command reports what it expected to go wrong in one line, and anything else
    is one line naming the error (exit 1); ASSISTANT_TUI_DEBUG=1 shows the traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.config:
        if not Path(args.config).is_file():
            parser.error(f"--config {args.config}: no such file")
        # config.TuiSettings reads this when it is built, which is after this point.
        os.environ["ASSISTANT_TUI_CONFIG"] = args.config
    try:
        return _run(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if os.environ.get("ASSISTANT_TUI_DEBUG"):
            raise
        detail = " ".join(str(exc).split())[:200] or "no details"
        print(
            f"assistant-tui: unexpected error ({type(exc).__name__}: {detail}); "
            "ASSISTANT_TUI_DEBUG=1 shows where",
            file=sys.stderr,
        )
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.command == "sync":
        from assistant_tui.headless import run_sync

        return run_sync(args)
    if args.command == "script-preview":
        from assistant_tui.preview import run_preview

        return run_preview(args)
    if args.command == "web":
        from assistant_tui.web import run_web

        return run_web(args)
    if args.command == "demo":
        from assistant_tui.demo import run_demo

        return run_demo(args)
    from assistant_tui.launch import run_workspace

    return run_workspace(args)


if __name__ == "__main__":
    sys.exit(main())
