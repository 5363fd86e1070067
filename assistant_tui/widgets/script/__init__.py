from assistant_tui.widgets.script.pane import ScriptPane

__all__ = ["ScriptPane"]
