"""One module per subcommand, each with `register(subparsers)`; kept import-light."""

from . import chat, config, models

COMMANDS = (chat, models, config)
