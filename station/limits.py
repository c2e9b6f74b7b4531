"""Bounds on untrusted structured input (config files, command payloads) checked before parsing."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class TextBounds:
    """How large and how deeply nested a kind of file may be before it is parsed, and how a refusal names it."""

    max_bytes: int
    max_depth: int
    kind: str  # "station.toml": "larger than 256 KB; this is not a station.toml"
    usual_depth: str  # "two": "nested deeper than 8 levels; station.toml needs two"


def nesting_depth(text: str) -> int:
    """Upper bound of the bracket nesting of TOML or JSON outside strings and comments.

    Python's TOML and JSON parsers recurse: a document nested thousands deep raises RecursionError.
    Counting first, in one flat pass, lets a caller refuse it with a plain message.
    """
    depth = deepest = 0
    quote = ""
    i = 0
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\" and quote == '"':
                i += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(0, depth - 1)
        i += 1
    return deepest
