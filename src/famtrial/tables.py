"""Publication tables: a numeric frame, its formatted view, and exports (CSV, Markdown, LaTeX, HTML, Word).

Every table famtrial prints (Tables 2-6, balance, model comparisons, verify reports) is a
:class:`Table`. ``frame`` holds the unrounded numbers for further work; ``display`` holds the
strings a reader sees (rounded, with stars). Exports render ``display`` by default.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = ["Table", "stars"]


def stars(p: float, levels: tuple[float, ...] = (0.05, 0.01, 0.001)) -> str:
    """Significance stars: one per level in ``levels`` that ``p`` falls below (* .05, ** .01, *** .001)."""
    if p is None or pd.isna(p):
        return ""
    return "*" * sum(p < level for level in levels)


_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}"}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


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

    def __post_init__(self):
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
        """Write CSV (numeric frame by default, so values keep full precision)."""
        if path is not None and not isinstance(path, (str, Path)):
            raise TypeError(f"path must be a file name, a Path or None, not {type(path).__name__}")
        return self._view(numeric).to_csv(path)

    def to_markdown(self, *, numeric: bool = False) -> str:
        """GitHub-flavoured Markdown, with the title as a bold caption and notes below."""
        view = self._view(numeric).astype(str)
        index_name = view.index.name or ""
        header = [index_name, *map(str, view.columns)]
        rows = [[str(idx), *row] for idx, row in zip(view.index, view.to_numpy().tolist())]
        esc = lambda s: s.replace("|", r"\|")  # noqa: E731
        lines = ["| " + " | ".join(esc(h) for h in header) + " |",
                 "|" + "|".join([":---"] + ["---:"] * len(view.columns)) + "|"]
        lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
        parts = ([f"**{self.title}**", ""] if self.title else []) + lines
        if self.notes:
            parts += ["", self.notes]
        return "\n".join(parts) + "\n"

    def to_latex(self, *, numeric: bool = False) -> str:
        """A ``table`` environment with a ``tabular`` (booktabs rules), caption and notes."""
        view = self._view(numeric).astype(str)
        cols = "l" + "r" * len(view.columns)
        head = " & ".join(_latex_escape(str(c)) for c in [view.index.name or "", *view.columns])
        body = [" & ".join(_latex_escape(str(c)) for c in [idx, *row]) + r" \\"
                for idx, row in zip(view.index, view.to_numpy().tolist())]
        lines = [r"\begin{table}[htbp]", r"\centering"]
        if self.title:
            lines.append(r"\caption{" + _latex_escape(self.title) + "}")
        lines += [r"\begin{tabular}{" + cols + "}", r"\toprule", head + r" \\", r"\midrule",
                  *body, r"\bottomrule", r"\end{tabular}"]
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
        return body + notes

    def to_docx(self, path: str | Path, *, numeric: bool = False) -> Path:
        """Write a Word document: the title as a caption, the table (one header row per column
        level, the index as the first column, numbers right-aligned) and the notes below.

        Needs python-docx (``pip install famtrial[docx]``).
        """
        try:
            import docx
            from docx.enum.text import WD_ALIGN_PARAGRAPH
        except ImportError:
            raise ImportError("writing .docx needs python-docx: pip install python-docx "
                              "(or famtrial[docx])") from None
        view = self._view(numeric)
        levels = view.columns.nlevels
        header_rows = ([list(map(str, view.columns.get_level_values(i))) for i in range(levels)])
        document = docx.Document()
        if self.title:
            document.add_paragraph(self.title, style="Caption")
        table = document.add_table(rows=levels + len(view), cols=1 + len(view.columns))
        table.style = "Table Grid"
        for i, labels in enumerate(header_rows):
            cells = table.rows[i].cells
            cells[0].text = str(view.index.name or "") if i == levels - 1 else ""
            for j, label in enumerate(labels):
                # repeated upper-level labels (Model 1 | Model 1 | ...) are written once
                shown = label if i == levels - 1 or j == 0 or labels[j - 1] != label else ""
                cells[j + 1].text = shown
                if shown:
                    cells[j + 1].paragraphs[0].runs[0].bold = True
        for r, (idx, row) in enumerate(zip(view.index, view.astype(str).to_numpy().tolist())):
            cells = table.rows[levels + r].cells
            cells[0].text = str(idx)
            for j, value in enumerate(row):
                cells[j + 1].text = value
                cells[j + 1].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
        if self.notes:
            document.add_paragraph(self.notes)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        document.save(str(path))
        return path

    def save(self, path: str | Path) -> Path:
        """Write by suffix: ``.csv`` (numeric), ``.md``, ``.tex``, ``.html``, ``.docx`` (display)."""
        if not isinstance(path, (str, Path)):
            raise TypeError(f"path must be a file name or Path (e.g. 'table5.md'), not {type(path).__name__}")
        path = Path(path)
        writers = {".csv": lambda: self.to_csv(None), ".md": self.to_markdown,
                   ".tex": self.to_latex, ".html": self.to_html}
        if path.suffix == ".docx":
            return self.to_docx(path)
        if path.suffix not in writers:
            raise ValueError(f"cannot save a table as {path.suffix!r} ({str(path)!r}): use one of "
                             f"{sorted([*writers, '.docx'])}")
        if path.is_dir():
            raise ValueError(f"cannot save a table to {str(path)!r}: it is a folder; give a file name")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(writers[path.suffix](), encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        text = self.display.to_string()
        head = f"{self.title}\n" if self.title else ""
        tail = f"\n{self.notes}" if self.notes else ""
        return head + text + tail

    __repr__ = __str__
