"""The process behind one browser session of `assistant-tui web`.

textual-serve starts `python -m assistant_tui.web_session --server URL --data-dir DIR`
for each websocket, with stdin/stdout as its packet channel. This runs the same
start-up as the terminal (`launch.run_workspace`: the sign-in screen, the cache
passphrase, then the signed-in role's modes) on `SessionWebDriver`, which keeps
the one browser session open across those Apps, and ends the session when they
are done. No username or password is taken from the command line.
"""

from __future__ import annotations

import argparse
import os
import sys

# Before Textual is imported (it reads TEXTUAL_DRIVER once, on import): textual-serve
# sets its own one-App driver; this process runs two Apps in turn.
os.environ["TEXTUAL_DRIVER"] = "assistant_tui.web_driver:SessionWebDriver"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m assistant_tui.web_session",
        description="One browser session of `assistant-tui web` (started by it, not by hand).",
    )
    parser.add_argument("--server", required=True, metavar="URL")
    parser.add_argument("--data-dir", required=True, metavar="DIR")
    parser.add_argument("--ca-file", metavar="PEM")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one browser session; returns the process's exit code."""
    args = build_parser().parse_args(argv)
    args.user = None  # each browser user types their own name on the sign-in screen
    # stdout is the packet channel to textual-serve: a stray print must not corrupt it.
    sys.stdout = sys.stderr

    from assistant_tui.launch import run_workspace
    from assistant_tui.web_driver import SessionWebDriver

    try:
        return run_workspace(args)
    finally:
        SessionWebDriver.end_session()


if __name__ == "__main__":
    sys.exit(main())
