"""Widgets shared by several panes (usage line, message view, sessions list, parameters panel, ...)."""
