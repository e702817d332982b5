"""One module per subcommand, each with `register(subparsers)`; kept import-light."""

from . import chat, config, models, serve, tokens

COMMANDS = (chat, models, serve, tokens, config)
