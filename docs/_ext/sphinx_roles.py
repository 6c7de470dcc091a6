"""A griffe extension for the API reference: Sphinx roles in docstrings rendered as links.

famtrial's docstrings cross-reference with Sphinx roles (``:func:`~famtrial.models.postestimation.margins```),
which mkdocstrings would print as literal text. Each role becomes an optional autorefs link around inline
code: a link when the target is rendered in the API reference, plain code otherwise (no broken link, so
``mkdocs build --strict`` stays green). ``~`` shows the last component, as Sphinx; ``:func:`` and
``:meth:`` add ``()``; ``:role:`text <target>``` shows ``text``.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(func|meth|class|mod|data|attr|exc|obj|const):`(~?)([^`<]+?)(?:\s*<([^>`]+)>)?`")


def render_roles(text: str) -> str:
    """Replace every Sphinx role in ``text`` by an optional autorefs link around inline code."""

    def replace(match: re.Match[str]) -> str:
        role, tilde, first, explicit = match.groups()
        target = (explicit or first).strip().lstrip("~").lstrip(".")
        if explicit:
            label = first.strip()
        else:
            label = target.rsplit(".", 1)[-1] if tilde else target
            if role in ("func", "meth"):
                label += "()"
        return f'<autoref identifier="{html.escape(target)}" optional><code>{html.escape(label)}</code></autoref>'

    return ROLE.sub(replace, text)


class SphinxRoles(griffe.Extension):
    """Rewrites the roles of every docstring as griffe loads famtrial."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None and ":" in obj.docstring.value:
            obj.docstring.value = render_roles(obj.docstring.value)
