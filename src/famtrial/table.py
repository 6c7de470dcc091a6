"""Publication tables: a numeric frame, its formatted view, and exports (CSV, Markdown, LaTeX, HTML, Word).

Every table famtrial prints (Tables 2-6, balance, model comparisons, verify reports) is a
:class:`Table`. ``frame`` holds the unrounded numbers for further work; ``display`` holds the
strings a reader sees (rounded, with stars). Exports render ``display`` by default.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = ["Table", "stars", "csv_guard"]


def stars(p: float, levels: tuple[float, ...] = (0.05, 0.01, 0.001)) -> str:
    """Significance stars: one per level in ``levels`` that ``p`` falls below (* .05, ** .01, *** .001)."""
    if p is None or pd.isna(p):
        return ""
    return "*" * sum(p < level for level in levels)


_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\^{}",
}


def _latex_escape(text: str) -> str:
    text = _CONTROL.sub("", _NEWLINES.sub(" ", text))
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


_NEWLINES = re.compile(r"\r\n|[\r\n\u2028\u2029]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")


def _markdown_text(text: str) -> str:
    """Text for Markdown: no HTML (``<script>`` shows as text), line breaks as spaces, no control characters.

    A tag, a comment or a processing instruction opens with ``<`` before a letter, ``/``, ``!`` or ``?``:
    that ``<`` is written ``&lt;``; others (``p < .05``), ``>`` and ``&`` stay as written.
    """
    return _no_tags(_CONTROL.sub("", _NEWLINES.sub(" ", text)))


def _no_tags(text: str) -> str:
    """``<`` that would open an HTML tag (before a letter, ``/``, ``!`` or ``?``) as ``&lt;``."""
    return _TAG_OPEN.sub("&lt;", text)


def _markdown_cell(text: str) -> str:
    """A table cell for Markdown: :func:`_markdown_text`, with pipes and backslashes escaped (table syntax)."""
    return _markdown_text(text).replace("\\", "\\\\").replace("|", r"\|")


#: OWASP's CSV injection characters: a text cell starting with one is a formula to a spreadsheet
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_guard(value: object) -> object:
    """A CSV cell a spreadsheet does not run: text starting with ``= + - @``, tab or CR gets a leading ``'``.

    Numbers, and text that reads as a number (``-0.5``, ``+3``), are left alone, so a negative estimate
    stays a number. This is the guard OWASP recommends against CSV (formula) injection.
    """
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value


def _guarded(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with :func:`csv_guard` applied to its text cells, index and column labels."""
    out = frame.copy()
    for i, (_, column) in enumerate(out.items()):
        if column.dtype == object or isinstance(column.dtype, (pd.StringDtype, pd.CategoricalDtype)):
            out.isetitem(i, column.astype(object).map(csv_guard))
    out.index = out.index.map(csv_guard) if not isinstance(out.index, pd.MultiIndex) else out.index
    if not isinstance(out.columns, pd.MultiIndex):
        out.columns = out.columns.map(csv_guard)
    return out


def _docx_text(text: str) -> str:
    """Text Word accepts: control characters removed (XML cannot hold them)."""
    return _CONTROL.sub("", text)


def _header_rows(columns: pd.Index) -> list[list[str]]:
    """One list of labels per column level (a flat index has one level)."""
    return [[str(v) for v in columns.get_level_values(i)] for i in range(columns.nlevels)]


def _spans(labels: list[str], parents: list[str] | None = None) -> list[tuple[str, int, int]]:
    """Runs of equal adjacent labels as ``(label, first column, width)``.

    A run also ends where the level above (``parents``, already merged) changes.
    """
    spans: list[tuple[str, int, int]] = []
    for j, label in enumerate(labels):
        same_parent = parents is None or parents[j] == parents[j - 1]
        if spans and j > 0 and labels[j - 1] == label and same_parent:
            name, start, width = spans[-1]
            spans[-1] = (name, start, width + 1)
        else:
            spans.append((label, j, 1))
    return spans


def _upper_spans(columns: pd.Index) -> list[list[tuple[str, int, int]]]:
    """Spans of every level but the last (the levels that label groups of columns)."""
    rows = _header_rows(columns)
    out = []
    for i in range(len(rows) - 1):
        parents = ["\x1f".join(r[j] for r in rows[:i]) for j in range(len(rows[i]))] if i else None
        out.append(_spans(rows[i], parents))
    return out


@dataclass(frozen=True)
class Table:
    """A table with numbers (``frame``) and its publication view (``display``).

    Parameters
    ----------
    frame : DataFrame
        Unrounded values, one row per table row.
    display : DataFrame
        The same rows as strings, as printed (rounded, stars, ``n (%)``).
    title, notes : str
        Caption and footnote carried into every export.
    """

    frame: pd.DataFrame
    display: pd.DataFrame
    title: str = ""
    notes: str = ""

    def __post_init__(self) -> None:
        for name in ("frame", "display"):
            value = getattr(self, name)
            if not isinstance(value, pd.DataFrame):
                raise TypeError(f"Table: {name} must be a pandas DataFrame, not {type(value).__name__}")
        for name in ("title", "notes"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise TypeError(f"Table: {name}={value!r} must be a string")

    def _view(self, numeric: bool) -> pd.DataFrame:
        return self.frame if numeric else self.display

    def to_csv(self, path: str | Path | None = None, *, numeric: bool = True) -> str | None:
        """Write CSV (numeric frame by default, so values keep full precision).

        Text cells that a spreadsheet would run as a formula (starting with ``= + - @``, tab or CR and
        not a number) are written with a leading ``'`` (:func:`csv_guard`, OWASP's CSV-injection guard).
        """
        if path is not None and not isinstance(path, (str, Path)):
            raise TypeError(f"path must be a file name, a Path or None, not {type(path).__name__}")
        text: str | None = _guarded(self._view(numeric)).to_csv(path)
        return text

    def to_markdown(self, *, numeric: bool = False) -> str:
        """GitHub-flavoured Markdown, with the title as a bold caption and notes below.

        Text is escaped: HTML tags show as text (their ``<`` as ``&lt;``), pipes and backslashes cannot break the table,
        line breaks become spaces.
        """
        view = self._view(numeric).astype(str)
        index_name = view.index.name or ""
        levels = _header_rows(view.columns)
        # Markdown has one header row: the top level, each label once over its group of columns; the
        # lower levels follow as bold rows at the top of the body (the index name on the last of them).
        top = levels[0]
        if len(levels) > 1:
            starts = {start for _, start, _ in _upper_spans(view.columns)[0]}
            top = [label if j in starts else "" for j, label in enumerate(levels[0])]
        header = [index_name if len(levels) == 1 else "", *top]
        rows = [
            [index_name if i == len(levels) - 2 else "", *[f"**{c}**" if c else "" for c in labels]]
            for i, labels in enumerate(levels[1:])
        ]
        rows += [[str(idx), *row] for idx, row in zip(view.index, view.to_numpy().tolist())]

        esc = _markdown_cell
        lines = [
            "| " + " | ".join(esc(h) for h in header) + " |",
            "|" + "|".join([":---"] + ["---:"] * len(view.columns)) + "|",
        ]
        lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
        parts = ([f"**{_markdown_text(self.title)}**", ""] if self.title else []) + lines
        if self.notes:
            parts += ["", _no_tags(_CONTROL.sub("", self.notes))]
        return "\n".join(parts) + "\n"

    def to_latex(self, *, numeric: bool = False) -> str:
        """A ``table`` environment with a ``tabular`` (booktabs rules), caption and notes."""
        view = self._view(numeric).astype(str)
        cols = "l" + "r" * len(view.columns)
        heads = []
        for spans in _upper_spans(view.columns):  # grouping levels: \multicolumn over each group, rules below
            cells = [""] + [
                _latex_escape(label)
                if width == 1
                else r"\multicolumn{" + f"{width}" + "}{c}{" + _latex_escape(label) + "}"
                for label, _, width in spans
            ]
            rules = "".join(
                r"\cmidrule(lr){" + f"{start + 2}-{start + width + 1}" + "}" for label, start, width in spans if label
            )
            heads += [" & ".join(cells) + r" \\" + (f" {rules}" if rules else "")]
        last = _header_rows(view.columns)[-1]
        heads.append(" & ".join(_latex_escape(c) for c in [str(view.index.name or ""), *last]) + r" \\")
        body = [
            " & ".join(_latex_escape(str(c)) for c in [idx, *row]) + r" \\"
            for idx, row in zip(view.index, view.to_numpy().tolist())
        ]
        lines = [r"\begin{table}[htbp]", r"\centering"]
        if self.title:
            lines.append(r"\caption{" + _latex_escape(self.title) + "}")
        lines += [
            r"\begin{tabular}{" + cols + "}",
            r"\toprule",
            *heads,
            r"\midrule",
            *body,
            r"\bottomrule",
            r"\end{tabular}",
        ]
        if self.notes:
            lines.append(r"\par\footnotesize " + _latex_escape(self.notes))
        lines.append(r"\end{table}")
        return "\n".join(lines) + "\n"

    def to_html(self, *, numeric: bool = False) -> str:
        """An HTML table with caption and notes (also used by Jupyter)."""
        body = self._view(numeric).to_html(escape=True, border=0)
        if self.title:
            body = body.replace(">\n", f">\n<caption>{html.escape(self.title)}</caption>\n", 1)
        notes = f"<p><small>{html.escape(self.notes)}</small></p>" if self.notes else ""
        return str(body) + notes

    def to_docx(self, path: str | Path, *, numeric: bool = False) -> Path:
        """Write a Word document: the title as a caption, the table and the notes below.

        The table has one header row per column level, the index as the first column, numbers
        right-aligned.

        Needs python-docx (``pip install famtrial[docx]``).
        """
        try:
            import docx
            from docx.enum.text import WD_ALIGN_PARAGRAPH
        except ImportError:
            raise ImportError("writing .docx needs python-docx: pip install python-docx (or famtrial[docx])") from None
        view = self._view(numeric)
        levels = view.columns.nlevels
        header_rows = _header_rows(view.columns)
        document = docx.Document()
        if self.title:
            document.add_paragraph(_docx_text(self.title), style="Caption")
        table = document.add_table(rows=levels + len(view), cols=1 + len(view.columns))
        table.style = "Table Grid"
        for i, labels in enumerate(header_rows):
            cells = table.rows[i].cells
            cells[0].text = _docx_text(str(view.index.name or "")) if i == levels - 1 else ""
            if i == levels - 1:  # the last level: one label per column
                for j, label in enumerate(labels):
                    cells[j + 1].text = _docx_text(label)
                    if label:
                        cells[j + 1].paragraphs[0].runs[0].bold = True
                continue
            for label, start, width in _upper_spans(view.columns)[i]:  # a group label: one merged cell
                cell = cells[start + 1].merge(cells[start + width]) if width > 1 else cells[start + 1]
                cell.text = _docx_text(label)
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
                if label:
                    cell.paragraphs[0].runs[0].bold = True
        for r, (idx, row) in enumerate(zip(view.index, view.astype(str).to_numpy().tolist())):
            cells = table.rows[levels + r].cells
            cells[0].text = _docx_text(str(idx))
            for j, value in enumerate(row):
                cells[j + 1].text = _docx_text(value)
                cells[j + 1].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
        if self.notes:
            document.add_paragraph(_docx_text(self.notes))
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        document.save(str(path))
        return path

    def save(self, path: str | Path) -> Path:
        """Write by suffix: ``.csv`` (numeric), ``.md``, ``.tex``, ``.html``, ``.docx`` (display)."""
        if not isinstance(path, (str, Path)):
            raise TypeError(f"path must be a file name or Path (e.g. 'table5.md'), not {type(path).__name__}")
        path = Path(path)
        writers: dict[str, Callable[[], str]] = {
            ".csv": lambda: str(self.to_csv(None)),
            ".md": self.to_markdown,
            ".tex": self.to_latex,
            ".html": self.to_html,
        }
        if path.suffix == ".docx":
            return self.to_docx(path)
        if path.suffix not in writers:
            raise ValueError(
                f"cannot save a table as {path.suffix!r} ({str(path)!r}): use one of {sorted([*writers, '.docx'])}"
            )
        if path.is_dir():
            raise ValueError(f"cannot save a table to {str(path)!r}: it is a folder; give a file name")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(writers[path.suffix](), encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        text = str(self.display.to_string())
        head = f"{self.title}\n" if self.title else ""
        tail = f"\n{self.notes}" if self.notes else ""
        return head + text + tail

    __repr__ = __str__
