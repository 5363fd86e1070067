"""The one action registry: every key binding, F1 help line and palette command, once.

Each `Action` is declared here and nowhere else: its id ("area.verb", the name
a user remaps in the config file's `[keymap]` table), its default key(s), what
it does, the area it belongs to and whether the command palette offers it.
Screens and widgets take their `BINDINGS` from `bindings(area)`; F1 help reads
the focused screen's *active* bindings (so a remapped key is what help says)
and labels them from here; the palette (`commands.py`) lists `palette=True`
actions of the areas the current screen declares.

Letters are left free on purpose: while the focus is not in a text field, a
letter is an outcome key of the open task's workflow (`c` = confirmed), so
global actions sit on function and control keys. Source of the id scheme:
Textual's keymap guide (`Binding(id=…)`, `App.set_keymap`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True)
class Action:
    """One thing a user can do.

    `id` is "area.verb" and unique; `key` is Textual key syntax, several keys
    comma-separated (the first is the one shown), or None for a palette-only
    command; `action` is the Textual action string run on the node that owns
    the area's bindings (App for "app", the screen for a screen's areas, the
    widget for a widget's); `footer` shows it in the footer; `priority` makes it
    win over a focused widget's own use of the key (only truly global keys).
    """

    id: str
    key: str | None
    action: str
    description: str
    footer: bool = True
    palette: bool = False
    priority: bool = False
    detail: str = ""  # the palette's help line

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]

    def binding(self) -> Binding:
        assert self.key is not None
        return Binding(
            self.key,
            self.action,
            self.description,
            show=self.footer,
            priority=self.priority,
            id=self.id,
        )


def _branches() -> tuple[Action, ...]:
    return tuple(
        Action(f"script.branch_{n}", str(n), f"branch({n})", "Take a branch", footer=False)
        for n in range(1, 10)
    )


ACTIONS: tuple[Action, ...] = (
    # The shell: on every screen of every mode.
    Action(
        "app.help",
        "f1",
        "help",
        "Help",
        priority=True,
        palette=True,
        detail="Keys and purpose of the focused area",
    ),
    Action(
        "app.lock",
        "ctrl+l",
        "lock",
        "Lock",
        priority=True,
        palette=True,
        detail="Hide every PHI pane now",
    ),
    Action(
        "app.sync",
        "f5",
        "sync_now",
        "Sync",
        footer=False,
        priority=True,
        palette=True,
        detail="Pull and send without waiting",
    ),
    Action(
        "app.next_view",
        "f8",
        "next_view",
        "Next view",
        priority=True,
        palette=True,
        detail="Switch to your next view (team, metrics, workspace…)",
    ),
    # The assistant's workspace (screen-wide).
    Action(
        "workspace.escalate",
        "f2",
        "escalate",
        "Escalate",
        priority=True,
        palette=True,
        detail="Pick a route; the named contact is shown",
    ),
    Action("workspace.escalate_key", "e", "escalate", "Escalate", footer=False),
    Action(
        "workspace.agent_state",
        "f3",
        "cycle_agent_state",
        "State",
        priority=True,
        detail="available → on call → wrap-up → break",
    ),
    Action(
        "workspace.identity",
        "f4",
        "toggle_identity",
        "ID verified",
        priority=True,
        palette=True,
        detail="Show appointment, referral and intake",
    ),
    Action(
        "workspace.channel",
        "f6",
        "cycle_channel",
        "Channel",
        detail="Next consented contact method",
    ),
    Action(
        "workspace.submit",
        "ctrl+s",
        "submit_outcome",
        "Save",
        footer=False,
        palette=True,
        detail="Save the chosen outcome",
    ),
    Action(
        "workspace.next_task",
        "ctrl+n",
        "next_task",
        "Next task",
        footer=False,
        palette=True,
        detail="Open the next task without documenting",
    ),
    Action(
        "workspace.pane",
        "f7",
        "next_pane",
        "Pane",
        footer=False,
        palette=True,
        detail="On a narrow terminal: show the queue, the script or the patient",
    ),
    Action(
        "workspace.attention",
        "f9",
        "show_attention",
        "Attention",
        footer=False,
        palette=True,
        detail="Work the server refused: read what it said, send again or drop",
    ),
    Action("workspace.help_key", "question_mark", "app.help", "Help", footer=False),
    Action(
        "workspace.whisper_ack",
        "ctrl+r",
        "acknowledge_whisper",
        "Ack whisper",
        footer=False,
        priority=True,
        palette=True,
        detail="Mark the whisper in the strip read (your supervisor sees it)",
    ),
    Action(
        "workspace.training_result",
        "ctrl+t",
        "show_training_result",
        "Training result",
        footer=False,
        palette=True,
        detail="The latest training run's score, pass/fail, fatal items and sections",
    ),
    Action(
        "workspace.available",
        None,
        "set_state('available')",
        "Agent state: available",
        palette=True,
        detail="Ready for the next task",
    ),
    Action(
        "workspace.on_call",
        None,
        "set_state('on-call')",
        "Agent state: on call",
        palette=True,
        detail="On a call",
    ),
    Action(
        "workspace.wrap_up",
        None,
        "set_state('wrap-up')",
        "Agent state: wrap-up",
        palette=True,
        detail="Documenting after a call",
    ),
    Action(
        "workspace.break",
        None,
        "set_state('break')",
        "Agent state: break",
        palette=True,
        detail="Away; no new work",
    ),
    # The queue list.
    Action("queue.down", "down", "cursor_down", "Down", footer=False),
    Action("queue.up", "up", "cursor_up", "Up", footer=False),
    Action("queue.page_down", "pagedown", "page_down", "Page down", footer=False),
    Action("queue.page_up", "pageup", "page_up", "Page up", footer=False),
    Action("queue.first", "home", "first", "First", footer=False),
    Action("queue.last", "end", "last", "Last", footer=False),
    Action("queue.open", "enter", "open", "Open task"),
    Action("queue.filter", "slash", "filter", "Filter"),
    # The script pane.
    Action("script.next", "space,down,right", "next_step", "Next step"),
    Action("script.previous", "up,left", "previous_step", "Previous step", footer=False),
    *_branches(),
    # The supervisor's team board (issue 8). Letters are free here: no outcome keys.
    Action(
        "supervise.shadow",
        "enter",
        "shadow",
        "Shadow",
        palette=True,
        detail="Watch the selected assistant's panes, read-only",
    ),
    Action(
        "supervise.whisper",
        "w",
        "whisper",
        "Whisper",
        palette=True,
        detail="A private line to the selected assistant",
    ),
    Action(
        "supervise.reassign",
        "r",
        "reassign",
        "Reassign",
        palette=True,
        detail="Move some of the selected assistant's tasks to another",
    ),
    Action(
        "supervise.state",
        "t",
        "force_state",
        "Set state",
        palette=True,
        detail="Set the selected assistant's agent state",
    ),
    Action(
        "supervise.queues",
        "q",
        "toggle_queues",
        "Queues",
        palette=True,
        detail="Show or hide the queue board",
    ),
    Action("supervise.inbox", "i", "inbox", "Inbox", palette=True, detail="The escalation inbox"),
    Action("supervise.sort", "s", "cycle_sort", "Sort", detail="Next sort order"),
    Action("supervise.filter", "f", "cycle_filter", "Filter", detail="Next filter"),
    # Shadowing one assistant.
    Action("shadow.whisper", "w", "whisper", "Whisper"),
    Action("shadow.pane", "f7", "next_pane", "Pane", detail="Next pane where not all fit"),
    Action("shadow.close", "escape,ctrl+g", "close", "Stop shadowing"),
    # The escalation inbox.
    Action("inbox.acknowledge", "a", "acknowledge", "Acknowledge"),
    Action("inbox.resolve", "r", "resolve", "Resolve"),
    Action("inbox.overdue", "o", "toggle_overdue", "Overdue only"),
    Action("inbox.route", "g", "cycle_route", "Route", detail="Show the next route only"),
    Action("inbox.next_page", "n", "next_page", "Next page"),
    Action("inbox.first_page", "p", "first_page", "First page"),
    Action("inbox.close", "escape,ctrl+g", "close", "Back"),
    # The trainer's training desk (issue 9). Letters are free here: no outcome keys.
    Action(
        "train.assign",
        "a",
        "assign",
        "Assign",
        palette=True,
        detail="Assign the selected scenario to a trainee",
    ),
    Action(
        "train.open",
        "enter",
        "open_run",
        "Follow run",
        palette=True,
        detail="Follow the selected run live (a scored run: its result)",
    ),
    Action(
        "train.marks",
        "m",
        "marks",
        "Marks",
        palette=True,
        detail="Mark the selected run's trainer items",
    ),
    Action(
        "train.result",
        "v",
        "result",
        "Result",
        palette=True,
        detail="The selected run's score and per-section results",
    ),
    Action(
        "train.progress",
        "p",
        "progress",
        "Progress",
        palette=True,
        detail="The selected trainee's progress by workflow and form section",
    ),
    Action(
        "train.clear",
        "c",
        "clear",
        "Clear",
        palette=True,
        detail="Sign the selected trainee off for a workflow (audited)",
    ),
    # Following a training run.
    Action("follow.coach", "w", "whisper", "Coach at step"),
    Action("follow.marks", "m", "marks", "Marks"),
    Action("follow.say", "p", "say", "Say as patient"),
    Action("follow.close", "escape,ctrl+g", "close", "Stop following"),
    # Marking a run.
    Action("marks.yes", "y", "mark_yes", "Yes"),
    Action("marks.no", "n", "mark_no", "No (comment)"),
    Action("marks.na", "x", "mark_na", "N/A"),
    Action("marks.comment", "c", "comment", "Comment", footer=False),
    Action("marks.save", "s,ctrl+s", "save", "Save marks"),
    Action("marks.cancel", "escape,ctrl+g", "cancel", "Cancel"),
    # A run's result and a trainee's progress.
    Action("result.close", "escape,ctrl+g,q", "close", "Back"),
    Action("progress.clear", "c", "clear", "Clear for a workflow"),
    Action("progress.close", "escape,ctrl+g,q", "close", "Back"),
    # The metrics dashboard (issue 10). Letters are free here: no outcome keys.
    Action(
        "metrics.practice",
        "c",
        "cycle_practice",
        "Practice",
        palette=True,
        detail="Show the next of your practices",
    ),
    Action(
        "metrics.period",
        "p",
        "cycle_period",
        "Period",
        palette=True,
        detail="Last 7, 30, 90 or 365 days, ending on the practice's today",
    ),
    Action(
        "metrics.granularity",
        "g",
        "toggle_granularity",
        "Day/week",
        palette=True,
        detail="Buckets of the series: the practice's local days or ISO weeks",
    ),
    Action(
        "metrics.workflow",
        "w",
        "cycle_workflow",
        "Workflow",
        palette=True,
        detail="All workflows, or the next one",
    ),
    Action(
        "metrics.assistant",
        "a",
        "cycle_assistant",
        "Assistant",
        palette=True,
        detail="All assistants, or the next of the practice's",
    ),
    Action(
        "metrics.summary",
        "s",
        "toggle_summary",
        "Daily/weekly",
        palette=True,
        detail="The summary of the practice's today, or of its last seven days",
    ),
    Action(
        "metrics.exceptions",
        "x",
        "exceptions",
        "Exceptions",
        palette=True,
        detail="Recurring reasons, repeated failed contact, conflicts, tasks past target",
    ),
    Action(
        "metrics.reload", "r", "reload", "Reload", palette=True, detail="Read the figures again"
    ),
    # The exceptions review and the tasks behind one of its lines.
    # Priority: the review's table would take Enter first, hiding the key from help.
    Action("exceptions.open", "enter", "open", "Open list", priority=True),
    Action("exceptions.back", "escape,ctrl+g", "app.pop_screen", "Back"),
    Action("drilldown.back", "escape,ctrl+g", "app.pop_screen", "Back"),
    # Supervisor dialogs.
    Action("dialog.cancel", "escape,ctrl+g", "cancel", "Cancel"),
    # Modals.
    Action("escalation.cancel", "ctrl+g,escape", "cancel", "Back"),
    Action("attention.resend", "r", "resend", "Send again"),
    Action("attention.drop", "d", "drop", "Drop (press twice)"),
    Action("attention.close", "escape,ctrl+g", "close", "Close"),
    Action("training_result.close", "escape,enter,ctrl+g", "close", "Close"),
    Action("red_flag.escalate", "f2", "escalate_clinical", "Escalate clinically", priority=True),
    Action("red_flag.cancel", "ctrl+g,escape", "cancel", "Back to notes"),
    Action("help.close", "f1,ctrl+g,q,escape", "dismiss", "Close help"),
)

# Plain-language summary of each area for the F1 help screen.
AREA_TITLES: dict[str, str] = {
    "app": "Anywhere",
    "workspace": "Workspace",
    "queue": "Queue",
    "script": "Script",
    "patient": "Patient",
    "outcome": "Outcome",
    "red_flag": "Red flag",
    "attention": "Needs attention",
    "supervise": "Team board",
    "shadow": "Shadowing",
    "inbox": "Escalation inbox",
    "train": "Training desk",
    "follow": "Following a run",
    "marks": "Marks",
    "result": "Run result",
    "progress": "Trainee progress",
    "metrics": "Follow-up metrics",
    "exceptions": "Exceptions review",
    "drilldown": "Tasks behind an exception",
}

AREA_HELP: dict[str, str] = {
    "queue": (
        "Your open tasks, most urgent first (priority, then due). The countdown is "
        "the time left to the response target in the practice's time; OVERDUE and "
        "due-soon rows are marked. Enter opens a task; / filters. New work appears "
        "on its own as the server sends it."
    ),
    "script": (
        "The approved script for this workflow. Read the highlighted step; Space or "
        "Down advances, Up goes back, number keys take a branch. When you leave a "
        "voicemail, only the voicemail-safe text is shown. Never say what is under "
        "'Do not say'."
    ),
    "patient": (
        "Minimum necessary until identity is verified: name, phone, language and "
        "consent. Mark identity verified once the patient has confirmed it to see "
        "the appointment, referral and intake status."
    ),
    "outcome": (
        "Press the outcome's letter from anywhere outside a text field, then Enter "
        "to save and open the next task. The channel key changes the contact method "
        "(consented channels only). A due accepts phrases like 'tomorrow 10am'."
    ),
    "supervise": (
        "Your team, live: each assistant's state and time in state (coloured at the "
        "practice's thresholds), current task, handled and attempts today, queue and "
        "SLA breaches, escalations, and who observes them. Enter shadows, W whispers, "
        "R reassigns, T sets a state; Q shows the queue board, I the escalation inbox."
    ),
    "shadow": (
        "The assistant's four panes as they work, read-only: their queue (the task "
        "they have open marked), the script with their current step highlighted, the "
        "patient and the outcome as typed. F7 switches the pane on a narrow terminal. "
        "They are told you are watching when their practice tells."
    ),
    "inbox": (
        "Escalations, oldest acknowledgement due first; OVERDUE is past the route's "
        "acknowledgement target. A acknowledges, R resolves with a note, O shows only "
        "the overdue, G one route at a time, N the next page, P the first."
    ),
    "train": (
        "Scenarios on the synthetic training practice, your trainees and their runs, "
        "live. A assigns the selected scenario to a trainee; Enter follows a run "
        "(W coaches at the trainee's step); M marks it, V shows its result; P a "
        "trainee's progress; C clears a trainee for a workflow."
    ),
    "follow": (
        "The trainee's panes as they work the run, read-only, with the expected "
        "handling and the simulated patient's lines at their step (▶). W whispers a "
        "coaching line tied to that step; M opens the marks."
    ),
    "marks": (
        "Your items of the evaluation form (the automatic ones are scored from the "
        "session). Y yes, N no with a comment, X not applicable; S saves."
    ),
    "metrics": (
        "The practice's follow-up figures, each with its definition, a trend arrow "
        "against the previous bucket and a chart of the highlighted figure. Days, "
        "weeks and 'today' are the practice's own (its time zone), not UTC. The "
        "filters are keys: practice, period, day or week buckets, workflow, "
        "assistant; the summary shows the practice's today or its last seven days; "
        "the exceptions review lists what needs a manager, and Enter on a line opens "
        "the tasks behind it."
    ),
    "exceptions": "Recurring escalation reasons, repeated failed contact, conflicts "
    "needing attention and tasks past their target. Enter opens the tasks behind a line.",
    "drilldown": "The tasks behind one line of the exceptions review (ids, not names).",
}

BY_ID: dict[str, Action] = {action.id: action for action in ACTIONS}
assert len(BY_ID) == len(ACTIONS), "duplicate action id in the registry"
BINDING_IDS: frozenset[str] = frozenset(a.id for a in ACTIONS if a.key is not None)


def bindings(*areas: str) -> list[BindingType]:
    """The Textual bindings of the keyed actions of `areas`, in registry order."""
    return [a.binding() for a in ACTIONS if a.area in areas and a.key is not None]


def key_for(action_id: str, keymap: Mapping[str, str]) -> str:
    """The key an action is on now (the user's override, else the default), for hints.

    Raises KeyError for an id that is not in the registry or has no key.
    """
    action = BY_ID[action_id]
    key = keymap.get(action_id, action.key)
    if key is None:
        raise KeyError(action_id)
    return display_key(key.split(",")[0])


KEY_NAMES = {
    "question_mark": "?",
    "slash": "/",
    "space": "Space",
    "enter": "Enter",
    "escape": "Esc",
    "pagedown": "PgDn",
    "pageup": "PgUp",
}


def display_key(key: str) -> str:
    """A key as help and hints show it: 'ctrl+l' -> 'CTRL+L', 'down' -> 'Down', 'e' -> 'e'."""
    if key in KEY_NAMES:
        return KEY_NAMES[key]
    if len(key) == 1:
        return key
    if "+" in key or (key[0] == "f" and key[1:].isdigit()):
        return key.upper()
    return key.title()


def unknown_ids(keymap: Iterable[str]) -> list[str]:
    """Ids in a user's keymap that match no keyed action (reported once, not fatal)."""
    return sorted(set(keymap) - BINDING_IDS)


def palette_actions(areas: Iterable[str]) -> list[Action]:
    """The palette's commands for a screen that offers `areas` (plus the shell's)."""
    wanted = {"app", *areas}
    return [a for a in ACTIONS if a.palette and a.area in wanted]


@dataclass(frozen=True)
class HelpRow:
    """One line of F1 help: the keys an action is on now and what it does."""

    action_id: str
    keys: str
    description: str

    @property
    def area(self) -> str:
        return self.action_id.split(".", 1)[0]


def help_rows(active: Iterable[tuple[str, Binding]], areas: Iterable[str]) -> list[HelpRow]:
    """Help lines from a screen's live bindings `(key, binding)`, for actions of `areas`.

    Keys come from the live bindings, so a remapped key is what help shows.
    Actions of one area with the same description share a line ("F2, e
    Escalate"; the branches' "1…9 Take a branch"). Ordered by area as given,
    then registry order; palette-only actions are listed with "palette" as
    their key, so help names every action the palette offers.
    """
    order = list(areas)
    keys: dict[str, list[str]] = {}
    for key, binding in active:
        if binding.id in BY_ID and BY_ID[binding.id].area in order:
            keys.setdefault(binding.id, []).append(display_key(key))
    rows: list[HelpRow] = []
    for area in order:
        lines: dict[str, tuple[str, list[str]]] = {}  # description -> (first id, keys)
        for action in ACTIONS:
            if action.area != area:
                continue
            if action.id in keys:
                found = keys[action.id]
            elif action.key is None and action.palette:
                found = ["palette"]
            else:
                continue
            _first, shown = lines.setdefault(action.description, (action.id, []))
            shown.extend(k for k in found if k not in shown)
        rows += [HelpRow(i, _join(shown), text) for text, (i, shown) in lines.items()]
    return rows


def _join(keys: list[str]) -> str:
    """'1, 2, … 9' -> '1…9' (a run of single digits); otherwise 'F2, e'."""
    if len(keys) > 2 and all(len(k) == 1 and k.isdigit() for k in keys):
        return f"{keys[0]}…{keys[-1]}"
    return ", ".join(keys)
