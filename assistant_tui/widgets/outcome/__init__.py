from assistant_tui.widgets.outcome.form import OutcomeDraft, OutcomeForm

__all__ = ["OutcomeDraft", "OutcomeForm"]
