"""gptbench's engine: backends, tokens, datasets, storage. Never imports Textual."""

__version__ = "0.1.0"
