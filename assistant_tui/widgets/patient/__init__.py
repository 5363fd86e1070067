from assistant_tui.widgets.patient.pane import PatientPane

__all__ = ["PatientPane"]
