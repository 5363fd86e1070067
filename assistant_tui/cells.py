"""Text measured in terminal cells, for every column and line the product draws.

A terminal gives a CJK character or an emoji two cells, a combining accent none,
so `str.ljust` and `text[:16]` (which count code points) push the columns after
a name right or pull them left and can cut a character in half. These helpers
measure with Rich's cell widths (grapheme-aware since Rich 14: a ZWJ emoji
sequence or a flag is one two-cell unit) and cut on whole graphemes, marking a
cut with an ellipsis.

Rich only (already imported by Textual), so drawing queue rows stays cheap.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Literal

from rich.cells import cell_len, set_cell_size

ELLIPSIS = "…"  # one cell

__all__ = ["ELLIPSIS", "cell_len", "clean", "clip", "fit"]


@lru_cache(maxsize=4096)
def clean(text: str) -> str:
    """`text` ready to draw on one line: NFC (decomposed accents composed, so
    terminals that draw combining marks badly still show "José"), runs of
    whitespace (tabs, newlines) as one space, other control characters dropped."""
    text = unicodedata.normalize("NFC", text)
    if text.isprintable():
        return text
    spaced = "".join(" " if ch.isspace() else ch for ch in text)
    return "".join(ch for ch in spaced if unicodedata.category(ch) != "Cc")


def clip(text: str, width: int) -> str:
    """`text` (cleaned) in at most `width` cells: cut on a whole grapheme, the cut
    marked with "…". Never wider than `width`; "" for width <= 0."""
    text = clean(text)
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    # set_cell_size pads with a space where a two-cell character would not fit.
    return set_cell_size(text, width - 1).rstrip() + ELLIPSIS


def fit(text: str, width: int, align: Literal["left", "right"] = "left") -> str:
    """`text` in exactly `width` cells: clipped as by `clip`, then padded with
    spaces on the right ("left") or on the left ("right")."""
    shown = clip(text, width)
    padding = " " * max(0, width - cell_len(shown))
    return shown + padding if align == "left" else padding + shown
