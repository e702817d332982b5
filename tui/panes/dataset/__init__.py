"""The Dataset pane: browse, check, fix and hand over fine-tuning data of any size."""

from .pane import DatasetPane

__all__ = ["DatasetPane"]
