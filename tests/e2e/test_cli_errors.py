"""`assistant-tui` never answers a bad flag, a missing or broken config or a dead
server with a Python traceback: the real CLI runs as a subprocess and must print
one clear line on stderr and exit non-zero."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.ports import free_port

CLI = str(Path(sys.executable).with_name("assistant-tui"))


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "ASSISTANT_TUI_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_TUI_PASSWORD": "synthetic-password",
        "ASSISTANT_TUI_PASSPHRASE": "synthetic cache passphrase 42",
        **env,
    }
    environ.pop("ASSISTANT_TUI_DEBUG", None)
    environ.pop("ASSISTANT_TUI_CONFIG", None)
    return subprocess.run(
        [CLI, *args],
        capture_output=True,
        text=True,
        env=environ,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )


def dead_server() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    broken = tmp_path / "broken.toml"
    broken.write_text("keymap = [not toml\n")
    invalid = tmp_path / "invalid.toml"
    invalid.write_text('retention_days = "forever"\n')
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("this is not a certificate\n")
    return {"broken": broken, "invalid": invalid, "file": a_file, "not_pem": not_pem}


CASES: list[tuple[str, list[str], str, int]] = [
    ("unknown flag", ["--bogus"], "unrecognized arguments: --bogus", 2),
    ("unknown command", ["frobnicate"], "invalid choice: 'frobnicate'", 2),
    ("demo port out of range", ["demo", "--port", "99999"], "a port is 1 to 65535", 2),
    ("demo port not a number", ["demo", "--port", "http"], "not a port number", 2),
    ("demo negative size", ["demo", "--size", "-3"], "must be 1 or more", 2),
    ("demo negative interval", ["demo", "--missed-call-every", "-1"], "0 or more seconds", 2),
    ("no server", [], "give --server URL", 2),
    ("not http", ["--server", "ftp://example.org"], "not an http(s) server address", 2),
    ("plain http off loopback", ["--server", "http://example.org"], "refusing plain http", 2),
    ("malformed URL", ["--server", "http://[::1"], "not a valid server address", 2),
    ("port not a number", ["--server", "http://127.0.0.1:abc"], "not a valid server address", 2),
    (
        "missing CA file",
        ["--server", "https://127.0.0.1:1", "--ca-file", "/nonexistent/ca.pem"],
        "cannot use the CA file /nonexistent/ca.pem",
        2,
    ),
    (
        "missing config",
        ["--config", "/nonexistent/config.toml", "sync", "--server", "{dead}", "--user", "ann"],
        "--config /nonexistent/config.toml: no such file",
        2,
    ),
    (
        "sync without a user",
        ["sync", "--server", "{dead}"],
        "--server and --user are required",
        2,
    ),
    (
        "sync to a dead server",
        ["sync", "--server", "{dead}", "--user", "ann"],
        "offline: http://127.0.0.1:",
        1,
    ),
    (
        "sync with a broken config, dead server",
        ["--config", "{broken}", "sync", "--server", "{dead}", "--user", "ann"],
        "offline: http://127.0.0.1:",
        1,
    ),
    (
        "data dir is a file",
        ["--data-dir", "{file}", "sync", "--server", "{dead}", "--user", "ann"],
        "cannot use the data directory",
        2,
    ),
]


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [pytest.param(a, m, c, id=name) for name, a, m, c in CASES],
)
def test_one_clear_line_and_no_traceback(
    args: list[str], message: str, code: int, tmp_path: Path, files: dict[str, Path]
) -> None:
    names = {"dead": dead_server(), **{k: str(v) for k, v in files.items()}}
    result = run([a.format(**names) for a in args], tmp_path)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    # One line of its own (argparse prints the usage first; the message is its last line).
    last = result.stderr.strip().splitlines()[-1]
    assert message in last
    assert last.startswith("assistant-tui")


def test_a_bad_ca_file_content_is_one_line(tmp_path: Path, files: dict[str, Path]) -> None:
    result = run(["--server", "https://127.0.0.1:1", "--ca-file", str(files["not_pem"])], tmp_path)
    assert "Traceback" not in result.stderr
    assert result.returncode == 2
    assert result.stderr.strip().startswith(
        f"assistant-tui: cannot use the CA file {files['not_pem']}"
    )
    assert len(result.stderr.strip().splitlines()) == 1


def test_unexpected_errors_are_one_line_unless_debugging(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The edge under test is the last-resort handler, so the failure is injected.
    from assistant_tui import cli

    def boom(_args: object) -> int:
        raise RuntimeError("synthetic failure\nsecond line")

    monkeypatch.setattr(cli, "_run", boom)
    monkeypatch.delenv("ASSISTANT_TUI_DEBUG", raising=False)
    assert cli.main(["sync"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "assistant-tui: unexpected error (RuntimeError: synthetic failure second line); "
        "ASSISTANT_TUI_DEBUG=1 shows where"
    ]
    monkeypatch.setenv("ASSISTANT_TUI_DEBUG", "1")
    with pytest.raises(RuntimeError):
        cli.main(["sync"])
