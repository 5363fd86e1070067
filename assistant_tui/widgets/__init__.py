"""Widgets of the workspace, one package per pane."""
