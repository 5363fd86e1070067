"""Every key binding of the workspace, each with a stable id ("area.verb").

Users remap keys by id in the config file (`[keymap] "app.escalate" = "ctrl+e"`);
the App applies those overrides with `App.set_keymap`. Letters are left free on
purpose: while the focus is not in a text field, a letter is an outcome key of
the open task's workflow (`c` = confirmed), so global actions sit on function
and control keys.
"""

from __future__ import annotations

from textual.binding import Binding, BindingType

APP: list[BindingType] = [
    Binding("f1", "help", "Help", id="app.help", priority=True),
    Binding("f2", "escalate", "Escalate", id="app.escalate", priority=True),
    Binding("f3", "cycle_agent_state", "State", id="app.agent_state", priority=True),
    Binding("f4", "toggle_identity", "ID verified", id="app.identity", priority=True),
    Binding("f5", "sync_now", "Sync", id="app.sync", show=False, priority=True),
    Binding("ctrl+l", "lock", "Lock", id="app.lock", priority=True),
]

WORKSPACE: list[BindingType] = [
    Binding("f6", "cycle_channel", "Channel", id="workspace.channel"),
    Binding("ctrl+s", "submit_outcome", "Save", id="workspace.submit", show=False),
    Binding("ctrl+n", "next_task", "Next task", id="workspace.next_task", show=False),
]

QUEUE: list[BindingType] = [
    Binding("down", "cursor_down", "Down", id="queue.down", show=False),
    Binding("up", "cursor_up", "Up", id="queue.up", show=False),
    Binding("pagedown", "page_down", "Page down", id="queue.page_down", show=False),
    Binding("pageup", "page_up", "Page up", id="queue.page_up", show=False),
    Binding("home", "first", "First", id="queue.first", show=False),
    Binding("end", "last", "Last", id="queue.last", show=False),
    Binding("enter", "open", "Open task", id="queue.open"),
    Binding("slash", "filter", "Filter", id="queue.filter"),
]

SCRIPT: list[BindingType] = [
    Binding("space,down,right", "next_step", "Next step", id="script.next"),
    Binding("up,left", "previous_step", "Previous step", id="script.previous", show=False),
    *(
        Binding(str(n), f"branch({n})", f"Branch {n}", id=f"script.branch_{n}", show=False)
        for n in range(1, 10)
    ),
]

ESCALATION: list[BindingType] = [
    Binding("ctrl+g", "cancel", "Back", id="escalation.cancel"),
]

RED_FLAG: list[BindingType] = [
    Binding(
        "f2", "escalate_clinical", "Escalate clinically", id="red_flag.escalate", priority=True
    ),
    Binding("ctrl+g", "cancel", "Back to notes", id="red_flag.cancel"),
]

HELP: list[BindingType] = [
    Binding("f1,ctrl+g,q", "dismiss", "Close help", id="help.close"),
]

# Plain-language summary of each area for the F1 help screen.
AREA_HELP: dict[str, str] = {
    "queue": (
        "Your open tasks, most urgent first (priority, then due). The countdown is "
        "the time left to the response target in the practice's time; OVERDUE and "
        "due-soon rows are marked. Enter opens a task; / filters."
    ),
    "script": (
        "The approved script for this workflow. Read the highlighted step; Space or "
        "Down advances, Up goes back, number keys take a branch. When you leave a "
        "voicemail, only the voicemail-safe text is shown. Never say what is under "
        "'Do not say'."
    ),
    "patient": (
        "Minimum necessary until identity is verified: name, phone, language and "
        "consent. Press F4 once the patient has confirmed identity to see the "
        "appointment, referral and intake status."
    ),
    "outcome": (
        "Press the outcome's letter from anywhere outside a text field, then Enter "
        "to save and open the next task. F6 changes the contact method (consented "
        "channels only). A due accepts phrases like 'tomorrow 10am'."
    ),
}

ALL_BINDINGS: list[Binding] = [
    b
    for b in (*APP, *WORKSPACE, *QUEUE, *SCRIPT, *ESCALATION, *RED_FLAG, *HELP)
    if isinstance(b, Binding)
]
BINDING_IDS: frozenset[str] = frozenset(b.id for b in ALL_BINDINGS if b.id)


def key_for(binding_id: str, overrides: dict[str, str]) -> str:
    """The key a binding is on now (the user's override, else the default), for hints."""
    for binding in ALL_BINDINGS:
        if binding.id == binding_id:
            return overrides.get(binding_id, binding.key).split(",")[0].upper()
    raise KeyError(binding_id)


def unknown_ids(keymap: dict[str, str]) -> list[str]:
    """Ids in a user's keymap that match no binding (reported, not fatal)."""
    return sorted(set(keymap) - BINDING_IDS)
