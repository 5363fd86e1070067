"""`assistant-api report`: the weekly summary as CSV and as a PDF, read back from its pages.

The PDF is rendered to PNG pages with poppler's `pdftoppm` and its text read with
`pdftotext` (Debian's poppler-utils; scripts/test installs it when missing).
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from central_api import models
from central_api.cli import main as api_main
from tests.api.conftest import ApiHarness
from tests.api.test_metrics import PID, _build

pytestmark = pytest.mark.skipif(
    shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) is not installed"
)


@pytest.fixture(scope="module")
def history(api: ApiHarness) -> dict[str, str]:
    ids = _build(api)
    with api.session() as s:
        for n in range(2):  # a reason naming the patient: the report must not print it
            s.add(
                models.Escalation(
                    id=f"20000000-0000-4000-8000-{n:012d}",
                    practice_id=PID,
                    task_id=ids["t4"],
                    route="language",
                    reason="Mrs Quixote needs a Portuguese interpreter",
                    status="open",
                    contact={},
                    raised_by="someone",
                    raised_at=datetime(2026, 11, 25, 15, tzinfo=UTC),
                    ack_due_at=datetime(2026, 11, 25, 16, tzinfo=UTC),
                )
            )
        s.commit()
    return ids


@pytest.mark.parametrize("api", ["inprocess"], indirect=True)
def test_csv_report_has_the_figures_and_no_names(
    api: ApiHarness, history: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "week.csv"
    args = ["report", "--db", api.db_url, "--practice", PID, "--week", "2026-W48"]
    assert api_main([*args, "--format", "csv", "--out", str(out)]) == 0
    text = out.read_text()
    assert "Zelda" not in text and "Quixote" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    values = {(r["figure"], r["measure"]): r["value"] for r in rows if r["section"] == "figure"}
    # Week 48 (Nov 23-29): tasks t1..t4 were created in it, three first attempted in time.
    assert values[("sla-met", "value")] == "0.75"
    assert values[("callback-time", "value")] == "1967.5"
    assert values[("no-show-trend", "value")] == ""
    reasons = [
        r for r in rows if r["section"] == "exception" and r["figure"] == "recurring_reasons"
    ]
    assert "language: mrs [name] needs a portuguese interpreter" in [r["measure"] for r in reasons]
    assert capsys.readouterr().out.startswith("wrote ")
    assert api_main([*args, "--format", "csv", "--out", "-"]) == 0
    assert capsys.readouterr().out == text


@pytest.mark.parametrize("api", ["inprocess"], indirect=True)
def test_pdf_report_renders_to_pages_with_its_text(
    api: ApiHarness, history: dict[str, str], tmp_path: Path
) -> None:
    pdf = tmp_path / "week.pdf"
    args = ["report", "--db", api.db_url, "--practice", PID, "--week", "2026-W48"]
    assert api_main([*args, "--format", "pdf", "--out", str(pdf)]) == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "70", str(pdf), str(tmp_path / "page")], check=True, timeout=60
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert pages and all(p.stat().st_size > 5000 for p in pages)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Weekly follow-up summary: Metrics Test" in text
    assert "Week 2026-W48" in text
    for needle in ("SLA met", "75%", "1968 min", "no data source", "Definitions", "[name]"):
        assert needle in text, needle
    assert "SLA met per day" in text and "Callback time per day" in text
    assert "Zelda" not in text and "Quixote" not in text


@pytest.mark.parametrize("api", ["inprocess"], indirect=True)
@pytest.mark.parametrize(
    ("week", "practice", "message"),
    [
        ("2026-48", PID, "not an ISO week"),
        ("2026-W54", PID, "not a week of that year"),
        ("2026-W48", "no-such-practice", "no practice"),
    ],
)
def test_report_refuses_bad_input_in_one_line(
    api: ApiHarness,
    history: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    week: str,
    practice: str,
    message: str,
) -> None:
    out = str(tmp_path / "r.csv")
    argv = ["report", "--db", api.db_url, "--practice", practice, "--week", week]
    assert api_main([*argv, "--format", "csv", "--out", out]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
