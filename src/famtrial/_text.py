"""Small text helpers shared by every layer: English plurals of the plan's unit nouns."""

from __future__ import annotations

__all__ = ["plural"]


def plural(noun: str) -> str:
    """English plural of a unit noun: family -> families, parent -> parents, office -> offices."""
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"
