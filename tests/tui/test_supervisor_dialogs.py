"""The supervisor's one-line dialogs: an empty Enter says what to do instead of closing,
and the fields take exactly what the server takes."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from textual.widgets import Input, Static

from assistant_tui.screens.supervision import ResolveScreen, WhisperScreen
from followup_core.schemas import EscalationResolve
from followup_core.supervision import WhisperIn


def _whisper(text: str) -> object:
    return WhisperIn(to_user_id="u-1", text=text)


def _resolution(text: str) -> object:
    return EscalationResolve(resolution=text)


@pytest.mark.parametrize(
    ("make_dialog", "field", "message", "server"),
    [
        (lambda: WhisperScreen("Ben Assistant"), "#whisper-text", "#whisper-message", _whisper),
        (ResolveScreen, "#resolve-note", "#resolve-message", _resolution),
    ],
)
async def test_an_empty_line_is_answered_and_a_full_one_sent(
    make_app: Any, make_dialog: Any, field: str, message: str, server: Any
) -> None:
    app = make_app(role="supervisor")
    results: list[str | None] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        dialog = make_dialog()
        app.push_screen(dialog, results.append)
        await pilot.pause()
        assert app.screen is dialog
        await pilot.press("space", "space", "enter")  # blank: not sent, not closed silently
        await pilot.pause()
        assert app.screen is dialog and results == []
        said = str(dialog.query_one(message, Static).render())
        assert "Esc" in said and "type" in said
        typed = dialog.query_one(field, Input)
        limit = typed.max_length
        # The field takes exactly what the server's model takes: its longest, not one more.
        server("x" * limit)
        with pytest.raises(ValidationError):
            server("x" * (limit + 1))
        typed.value = "x" * limit
        await pilot.press("enter")
        await pilot.pause()
        assert results == ["x" * limit]
        assert app.screen is not dialog
