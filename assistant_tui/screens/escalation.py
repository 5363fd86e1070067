"""The escalation route picker: one key per route, the named contact shown.

`urgent-symptom` puts the practice's approved emergency instruction on screen
the moment its key is pressed, before anything else is asked.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.events import Key
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from assistant_tui import actions
from followup_core.enums import EscalationRoute
from followup_core.schemas import EscalationContact, PracticeOut


@dataclass(frozen=True)
class EscalationChoice:
    route: EscalationRoute
    reason: str
    contact: EscalationContact | None


def route_keys() -> dict[EscalationRoute, str]:
    from followup_core.escalation import ROUTE_KEYS

    return {EscalationRoute(route): key for route, key in ROUTE_KEYS.items()}


def needs_reason(route: EscalationRoute) -> bool:
    from followup_core.escalation import ROUTES_NEEDING_REASON

    return route in ROUTES_NEEDING_REASON


def contact(practice: PracticeOut, route: EscalationRoute) -> EscalationContact | None:
    from followup_core.escalation import contact_for

    try:
        return contact_for(practice, route)
    except Exception:  # a practice without a contact for a route: shown, not fatal
        return None


def describe(found: EscalationContact | None) -> str:
    if found is None:
        return "no named contact: goes to the practice manager's queue"
    return f"{found.name}, {found.role} · {found.reach} · ack within {found.ack_target_minutes} min"


class EscalationScreen(ModalScreen[EscalationChoice | None]):
    BINDINGS = actions.bindings("escalation")
    AUTO_FOCUS = ""  # no field: the next key picks a route

    def __init__(self, practice: PracticeOut, routes: list[EscalationRoute]) -> None:
        super().__init__()
        self.practice = practice
        keys = route_keys()
        self.routes = [(keys[r], r) for r in routes if r in keys]
        self.chosen: EscalationRoute | None = None

    def compose(self) -> ComposeResult:
        lines = []
        for key, route in self.routes:
            lines.append(
                f"[b]{escape(f'[{key}]')}[/b] {route.value:<25} "
                f"{escape(describe(contact(self.practice, route)))}"
            )
        with VerticalScroll(id="escalation-dialog"):
            yield Static("[b]Escalate — press the route's key[/b]", id="escalation-title")
            yield Static("\n".join(lines), id="escalation-routes")
            yield Static("", id="escalation-instruction")
            yield Static("", id="escalation-chosen")
            yield Input(placeholder="reason (required) — Enter sends", id="escalation-reason")
            yield Static("ctrl+g back", id="escalation-hint")

    def on_key(self, event: Key) -> None:
        if self.chosen is not None or event.character is None:
            return
        for key, route in self.routes:
            if event.character == key:
                event.stop()
                event.prevent_default()
                self.choose(route)
                return

    def choose(self, route: EscalationRoute) -> None:
        """Lock in `route`: show the EMERGENCY instruction for `urgent-symptom`, then ask
        for a reason (routes in ROUTES_NEEDING_REASON) or dismiss with the choice.

        The route list gives way and the instruction is scrolled into view, so at 80x24
        the instruction and the reason field are both on screen.
        """
        self.chosen = route
        found = contact(self.practice, route)
        self.query_one("#escalation-routes", Static).add_class("done")
        if route is EscalationRoute.URGENT_SYMPTOM:
            shown = self.query_one("#escalation-instruction", Static)
            shown.update(f"[b]EMERGENCY:[/b] {escape(self.practice.emergency_instruction)}")
            shown.add_class("shown")
            self.call_after_refresh(shown.scroll_visible, top=True, animate=False)
        self.query_one("#escalation-chosen", Static).update(
            f"[b]{route.value}[/b] → {escape(describe(found))}"
        )
        if needs_reason(route):
            self.query_one("#escalation-title", Static).update(
                "[b]Escalate — give the reason, Enter sends[/b]"
            )
            field = self.query_one("#escalation-reason", Input)
            field.add_class("shown")
            field.focus()
        else:
            self.dismiss(EscalationChoice(route, "", found))

    @on(Input.Submitted, "#escalation-reason")
    def _send(self, event: Input.Submitted) -> None:
        event.stop()
        if self.chosen is None:
            return
        reason = event.value.strip()
        if not reason:
            self.query_one("#escalation-hint", Static).update(
                "A reason is required for this route."
            )
            return
        self.dismiss(EscalationChoice(self.chosen, reason, contact(self.practice, self.chosen)))

    def action_cancel(self) -> None:
        self.dismiss(None)
