"""The Textual app, its panes and the command line."""
