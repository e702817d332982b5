"""Textual themes and the app stylesheet."""
