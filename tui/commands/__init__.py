"""One module per subcommand, each with `register(subparsers)`; kept import-light."""

from . import chat, config, data, models, serve, tokens

COMMANDS = (chat, models, serve, tokens, data, config)
