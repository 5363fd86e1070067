"""Typed errors of the domain rules.

Each error carries a short kebab-case `code` (for the API's error body) and a
one-line message that is safe to show a user: it names rules, statuses and
placeholders, never a patient's data.
"""

from __future__ import annotations

from collections.abc import Iterable


class FollowupError(Exception):
    """Base of every rule violation raised by followup_core."""

    code = "rule-violation"

    def __init__(self, message: str) -> None:
        # One line, always: these messages end up in status bars and API bodies.
        super().__init__(" ".join(message.split()))

    @property
    def message(self) -> str:
        return str(self)


class IllegalTransition(FollowupError):
    code = "illegal-transition"

    def __init__(self, current: str, to: str, detail: str = "") -> None:
        self.current = current
        self.to = to
        tail = f": {detail}" if detail else ""
        super().__init__(f"a task cannot move from {current} to {to}{tail}")


class UnknownOutcome(FollowupError):
    code = "unknown-outcome"

    def __init__(self, workflow: str, outcome: str) -> None:
        self.workflow = workflow
        self.outcome = outcome
        super().__init__(f"{outcome!r} is not an outcome of the {workflow} workflow")


class MissingField(FollowupError):
    code = "missing-field"

    def __init__(self, outcome: str, field: str) -> None:
        self.outcome = outcome
        self.field = field
        what = {
            "next_step": "a next step (action and due time)",
            "notes": "notes",
            "identity_verified": "a verified identity",
        }.get(field, field)
        super().__init__(f"outcome {outcome} requires {what}")


class ChannelNotAllowed(FollowupError):
    code = "channel-not-allowed"

    def __init__(self, channel: str, reason: str) -> None:
        self.channel = channel
        self.reason = reason
        super().__init__(f"channel {channel} is not allowed: {reason}")


class ScriptLintError(FollowupError):
    code = "script-lint"

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("voicemail text is not voicemail-safe: " + "; ".join(self.problems))


class DuePhraseError(FollowupError):
    code = "bad-due-phrase"

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        shown = text if len(text) <= 40 else text[:37] + "..."
        super().__init__(f"cannot read due {shown!r}: {reason}")


class NoEscalationContact(FollowupError):
    code = "no-escalation-contact"

    def __init__(self, route: str) -> None:
        self.route = route
        super().__init__(f"the practice has no contact for the {route} route")
