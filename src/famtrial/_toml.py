"""famtrial's one TOML table reader and its one TOML writer.

:class:`Table` reads one parsed TOML table key by key: every value is type-checked, every error names
the file and the key path (``plan.toml: models.model1.outcome ...``), and :meth:`Table.done` refuses
keys nobody asked for. Plans (:mod:`famtrial.plan.read`) and simulated designs
(:mod:`famtrial.simulation.design`) both read through it; each keeps the wording its users know, given
as a :class:`Style` (:data:`PLAN` raises :class:`~famtrial.errors.PlanError`, :data:`DESIGN` raises
:class:`~famtrial.errors.DesignError`). :func:`dumps` writes the plan's subset of TOML back.

This module is in the base layer: it imports nothing of famtrial but :mod:`famtrial.errors`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from famtrial.errors import DesignError, FamtrialError, PlanError

__all__ = ["Style", "PLAN", "DESIGN", "REQUIRED", "NAME", "Table", "dumps", "value_text"]

N = TypeVar("N", int, float)

#: A usable name for a named table (``[models.<name>]``): letters, digits, underscores, no leading digit.
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Required:
    """The default of a key that must be given."""

    def __repr__(self) -> str:
        return "REQUIRED"


#: The default meaning "this key must be given".
REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Style:
    """The error class and the wording of one reader's messages.

    Parameters
    ----------
    error : type
        The exception raised (a :class:`~famtrial.errors.FamtrialError`).
    separator : str
        Between the key path and the problem (``"plan.toml: months.first is required"``).
    missing : str
        The problem of a required key that is absent (field ``{what}``: what to give).
    wrong_type, boolean : str
        The problem of a value of the wrong type, of a boolean where none is allowed (fields
        ``{kinds}``: the accepted type names joined by "or", ``{type}``, ``{value}``, ``{what}``).
    choice : str
        The problem of a value outside its choices (``{value}``, ``{choice_list}``, ``{choice_tuple}``).
    not_table, sub_not_table : str
        The whole message for a table that is no table, read directly or as a key of its parent
        (``{source}``, ``{path}``, ``{type}``, ``{value}``).
    unknown : str
        The whole message for unknown keys (``{source}``, ``{path}``, ``{where}``: ``[path]`` or "the
        top level", ``{unknown}`` in the file's order, ``{sorted_unknown}``, ``{known}``).
    """

    error: type[FamtrialError]
    separator: str
    missing: str
    wrong_type: str
    boolean: str
    choice: str
    not_table: str
    sub_not_table: str
    unknown: str


#: The plan's wording (``plan.toml: output.digits must be int, not str ('2')``).
PLAN = Style(
    error=PlanError,
    separator=" ",
    missing="is required",
    wrong_type="must be {kinds}, not {type} ({value!r})",
    boolean="must be {kinds}, not a boolean",
    choice="= {value!r} is not one of {choice_list}",
    not_table="{source}: [{path}] must be a table (key = value lines), not {type}",
    sub_not_table="{source}: [{path}] must be a table (key = value lines), not {type}",
    unknown="{source}: unknown key(s) {unknown} in {where}; known keys there: {known}",
)

#: The simulated design's wording (``casework.toml: months.first: '2019' is not 'YYYY-MM' text``).
DESIGN = Style(
    error=DesignError,
    separator=": ",
    missing="is missing; give {what}",
    wrong_type="{value!r} is not {what}",
    boolean="{value!r} is not {what}",
    choice="{value!r} is not one of {choice_tuple}",
    not_table="{source}: {path}: must be a table, got {type}",
    sub_not_table="{source}: {path}: {value!r} is not a table",
    unknown="{source}: {path}: unknown keys {sorted_unknown}; check their spelling",
)


class Table:
    """One TOML table read key by key; errors name ``source`` and the key path and raise ``style.error``.

    Parameters
    ----------
    raw : mapping
        The parsed table (anything else raises, in ``style``'s words).
    path : str
        Its dotted key path in the document (``""`` at the top level).
    source : str
        The file (or ``"<string>"``) named first in every message.
    style : Style
        The error class and wording: :data:`PLAN` or :data:`DESIGN`.
    """

    def __init__(self, raw: object, path: str, source: str, style: Style):
        self.path, self.source, self.style = path, source, style
        if not isinstance(raw, Mapping):
            raise style.error(style.not_table.format(source=source, path=path, type=type(raw).__name__, value=raw))
        self.raw: dict[str, Any] = dict(raw)
        self.used: set[str] = set()

    def key(self, key: str) -> str:
        """The dotted path of ``key`` in this table (the table's own path for ``""``)."""
        return f"{self.path}.{key}" if self.path and key else (key or self.path)

    def fail(self, key: str, problem: str) -> NoReturn:
        """Raise ``style.error``: ``"<source>: <path>.<key><separator><problem>"``."""
        raise self.style.error(f"{self.source}: {self.key(key)}{self.style.separator}{problem}")

    def get(
        self,
        key: str,
        kind: type | tuple[type, ...],
        default: Any = REQUIRED,
        what: str = "",
        *,
        choices: Sequence[Any] | None = None,
    ) -> Any:
        """The value of ``key``, of type ``kind`` (a boolean only when ``bool`` is listed), one of ``choices``.

        ``default`` is returned when the key is absent (``REQUIRED``: the key must be given); ``what``
        says what to give, in the design's wording.
        """
        self.used.add(key)
        if key not in self.raw:
            if default is REQUIRED:
                self.fail(key, self.style.missing.format(what=what or "a value"))
            return default
        value = self.raw[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        words = {"kinds": " or ".join(k.__name__ for k in kinds), "type": type(value).__name__, "value": value}
        if isinstance(value, bool) and bool not in kinds:
            self.fail(key, self.style.boolean.format(what=what or kind, **words))
        if not isinstance(value, kinds):
            self.fail(key, self.style.wrong_type.format(what=what or kind, **words))
        if choices is not None and value not in choices:
            self.fail(
                key, self.style.choice.format(value=value, choice_list=list(choices), choice_tuple=tuple(choices))
            )
        return value

    def number(self, key: str, default: Any = REQUIRED) -> float:
        """A number (integer or float) as a float."""
        return float(self.get(key, (int, float), default, "a number"))

    def range(self, key: str, kind: type[N]) -> tuple[N, N]:
        """A number or a ``[low, high]`` pair of numbers, as ``(low, high)`` converted by ``kind``."""
        value = self.get(key, (int, float, list), what="a number or a [low, high] pair")
        if isinstance(value, list):
            if len(value) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
                self.fail(key, f"{value!r} must be a [low, high] pair of numbers")
            return (kind(value[0]), kind(value[1]))
        return (kind(value), kind(value))

    def strings(self, key: str, default: Sequence[str] = ()) -> tuple[str, ...]:
        """A list of names (strings) as a tuple."""
        value = self.get(key, list, list(default))
        bad = [v for v in value if not isinstance(v, str)]
        if bad:
            self.fail(key, f"must be a list of names (strings); {bad!r} are not")
        return tuple(value)

    def sub(self, key: str, default: Any = REQUIRED) -> Table:
        """The table under ``key`` (``default``, a mapping, when absent; ``REQUIRED``: it must be given)."""
        self.used.add(key)
        if key not in self.raw:
            if default is REQUIRED:
                self.fail(key, self.style.missing.format(what="a table"))
            return Table(default, self.key(key), self.source, self.style)
        value = self.raw[key]
        if not isinstance(value, Mapping):
            text = self.style.sub_not_table.format(
                source=self.source, path=self.key(key), type=type(value).__name__, value=value
            )
            raise self.style.error(text)
        return Table(value, self.key(key), self.source, self.style)

    def tables(self, key: str) -> dict[str, Table]:
        """The named tables under ``key`` (``[models.<name>]``), by name; each name must be :data:`NAME`."""
        outer = self.sub(key, {})
        out = {}
        for name, raw in outer.raw.items():
            if not NAME.match(name):
                outer.fail(name, "is not a usable name: use letters, digits and underscores, not starting with a digit")
            out[name] = Table(raw, outer.key(name), self.source, self.style)
        outer.used.update(out)
        return out

    def done(self) -> None:
        """Raise when the table holds a key nobody read (a misspelling), naming the keys it knows."""
        unknown = [k for k in self.raw if k not in self.used]
        if unknown:
            text = self.style.unknown.format(
                source=self.source,
                path=self.path,
                where=f"[{self.path}]" if self.path else "the top level",
                unknown=unknown,
                sorted_unknown=sorted(unknown),
                known=", ".join(sorted(self.used)) or "(none)",
            )
            raise self.style.error(text)


# -- the writer (the plan's subset: tables, strings, numbers, booleans, flat lists) --------------------------
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _control(ch: str) -> str:
    """A character as TOML writes it in a basic string: a control character as a unicode escape (backslash-u)."""
    return f"\\u{ord(ch):04X}" if ord(ch) < 0x20 or ord(ch) == 0x7F else ch


def key_text(k: str) -> str:
    """A TOML key: bare when it is letters, digits, ``_`` and ``-``, else quoted (so ``a.b`` stays one key)."""
    return k if _BARE_KEY.fullmatch(k) else value_text(k)


def value_text(v: Any) -> str:
    """One TOML value: a boolean, number, string or flat list."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))
    if isinstance(v, str):
        return '"' + "".join(_ESCAPES.get(ch) or _control(ch) for ch in v) + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value_text(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def dumps(doc: Mapping[str, Any], comments: Mapping[str, str] | None = None) -> str:
    """A TOML document: scalars of a table first, then its sub-tables as ``[a.b]`` headers.

    Parameters
    ----------
    doc : mapping
        Nested mappings of booleans, numbers, strings and flat lists.
    comments : mapping, optional
        A comment (lines) written above a dotted key (``"columns.arm"``) or a table (``"models"``).

    Returns
    -------
    str
        The text, ending in one newline.
    """
    notes = comments or {}
    lines: list[str] = []

    def comment(key: str) -> None:
        text = "".join(ch for ch in notes.get(key, "") if ch in "\t\n\r" or not (ord(ch) < 0x20 or ord(ch) == 0x7F))
        lines.extend(f"# {line}".rstrip() for line in text.splitlines())  # no control character in a comment

    def table(node: Mapping[str, Any], path: str) -> None:
        scalars = [(k, v) for k, v in node.items() if not isinstance(v, Mapping)]
        if path and (scalars or not node):
            lines.append("")
            comment(path)
            lines.append(f"[{path}]")
        elif path in notes:
            lines.append("")
            comment(path)
        for k, v in scalars:
            comment(f"{path}.{k}" if path else k)
            lines.append(f"{key_text(k)} = {value_text(v)}")
        for k, v in node.items():
            if isinstance(v, Mapping):
                table(v, f"{path}.{key_text(k)}" if path else key_text(k))

    table(doc, "")
    return "\n".join(lines).strip("\n") + "\n"
