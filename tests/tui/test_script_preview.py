"""`assistant-tui script-preview`: a practice file's draft in the script pane, with sample data."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant_tui.cli import main
from assistant_tui.preview import SAMPLE_NOTE, PreviewApp, sample_script
from assistant_tui.widgets.script.pane import ScriptPane

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "practice.toml"
HUDSON = (
    Path(__file__).resolve().parents[2] / "central_api" / "seeding" / "practices" / "hudson.toml"
)


def test_sample_data_fills_the_draft() -> None:
    shown = sample_script(EXAMPLE.read_text(), "missed-call-recovery")
    assert SAMPLE_NOTE in shown.heading
    assert "Maple Street Clinic" in shown.steps[0].text
    assert "Sam Sample" in shown.steps[0].text
    assert "[missing:" not in " ".join(s.text for s in shown.steps)
    assert "+1-312-555-0142" in shown.voicemail
    # The example's script has no voicemail of its own: the practice's wording is used.
    assert shown.voicemail.startswith("Hello, this is Maple Street Clinic calling.")


def test_appointment_workflows_get_a_sample_appointment() -> None:
    shown = sample_script(HUDSON.read_text(), "appointment-confirmation")
    details = " ".join(s.text for s in shown.steps)
    assert "Dr. Sample Provider" in details and "[missing:" not in details


def test_a_missing_script_or_a_broken_file_is_one_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ValueError, match="no script for 'reactivation'"):
        sample_script(EXAMPLE.read_text(), "reactivation")
    broken = tmp_path / "broken.toml"
    broken.write_text(EXAMPLE.read_text().replace('timezone = "America/Chicago"', 'timezone = "X"'))
    assert main(["script-preview", str(broken), "missed-call-recovery"]) == 2
    err = capsys.readouterr().err
    assert "line " in err and "unknown time zone" in err and "Traceback" not in err


async def test_the_pane_steps_and_shows_the_voicemail_variant() -> None:
    app = PreviewApp(sample_script(EXAMPLE.read_text(), "missed-call-recovery"))
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(ScriptPane)
        assert pane.script is not None and pane.step == 0
        await pilot.press("space")
        assert pane.step == 1
        await pilot.press("v")
        assert pane.voicemail
        await pilot.press("q")
    assert app.return_code == 0
