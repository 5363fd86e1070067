"""End-to-end: the real assistant-tui in tmux, and the start-up screens under Pilot."""
