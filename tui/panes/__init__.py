"""The app's panes: one module or package per pane; `registry.PANES` lists them in tab order."""
