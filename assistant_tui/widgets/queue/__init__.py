from assistant_tui.widgets.queue.pane import QueuePane
from assistant_tui.widgets.queue.queue_list import QueueList

__all__ = ["QueueList", "QueuePane"]
