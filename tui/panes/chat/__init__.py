"""The Chat pane (pane.py), its conversation widgets (conversation.py), completion and compare views."""

from .pane import ChatPane

__all__ = ["ChatPane"]
