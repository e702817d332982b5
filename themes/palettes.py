"""gptbench's own Textual themes: a dark and a light one, plus the 16-colour fallback Textual ships.

Plain hex colours only: Textual maps them down to 256 or 16 colours when the terminal has fewer, and the
"ansi-dark" / "ansi-light" themes (listed in `THEME_NAMES`) use the terminal's own ANSI palette for 16-colour terminals.
"""

from __future__ import annotations

from textual.theme import Theme

DARK = Theme(
    name="gptbench-dark",
    primary="#5FA8D3",
    secondary="#8FBC8F",
    accent="#E0A458",
    foreground="#E2E4E9",
    background="#16181D",
    surface="#1E2128",
    panel="#262A33",
    success="#7CC47F",
    warning="#E0A458",
    error="#E06C75",
    dark=True,
)

LIGHT = Theme(
    name="gptbench-light",
    primary="#1F5F99",
    secondary="#3C7A3C",
    accent="#A85A00",
    foreground="#1B1D22",
    background="#F7F7F4",
    surface="#EDEDE8",
    panel="#E1E1DA",
    success="#2E7D32",
    warning="#A85A00",
    error="#B3261E",
    dark=False,
)

THEMES: tuple[Theme, ...] = (DARK, LIGHT)
DEFAULT_THEME = DARK.name
#: The themes offered first in the palette; any registered Textual theme is accepted too.
THEME_NAMES: tuple[str, ...] = (DARK.name, LIGHT.name, "ansi-dark", "ansi-light")
