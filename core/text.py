"""Text a person gave, safe to print back into a terminal: every message that quotes a key, a
value or a reason someone typed (a stack file, a flag, a record in the routing table) shows it
through ``printable``, so an escape sequence in it is shown, never obeyed."""

from __future__ import annotations

import unicodedata

# The most characters of one quoted value a message shows: a line or two of a terminal.
MAX_SHOWN_CHARACTERS = 500
# Bidirectional overrides and isolates reorder what a terminal shows ("Trojan Source", Unicode
# Technical Report #36, Bidirectional Text Spoofing); control characters and line and paragraph
# separators move the cursor, clear the screen or set the title.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def unsafe(character: str) -> bool:
    """A character that changes a terminal rather than showing as text; or a byte that was not
    UTF-8 where the command line gave it (Python keeps it as a lone surrogate, Cs), which no
    UTF-8 output can carry."""
    return (
        unicodedata.category(character) in ("Cc", "Cs", "Zl", "Zp") or character in _BIDI_CONTROLS
    )


def escaped(character: str) -> str:
    """A character as the escape that names it: \\x1b, \\u202e."""
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def first_unsafe(text: str) -> tuple[int, str] | None:
    """The position (from 1) and the escape of the first unsafe character of ``text``, if any."""
    for position, character in enumerate(text, start=1):
        if unsafe(character):
            return position, escaped(character)
    return None


def printable(text: str, limit: int = MAX_SHOWN_CHARACTERS) -> str:
    """``text`` safe to print into someone's terminal: control characters, line separators and
    bidirectional controls shown as escapes (\\x1b), and at most ``limit`` characters of it."""
    shown = "".join(escaped(c) if unsafe(c) else c for c in text[:limit])
    more = len(text) - limit
    return shown + (f"... ({more:,} more characters)" if more > 0 else "")
