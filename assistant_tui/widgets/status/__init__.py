from assistant_tui.widgets.status.bar import StatusBar

__all__ = ["StatusBar"]
