"""Small text helpers shared by every layer: plurals, articles and key names of the plan's unit nouns."""

from __future__ import annotations

__all__ = ["plural", "article", "key_name"]


def plural(noun: str) -> str:
    """English plural of a unit noun: family -> families, parent -> parents, office -> offices."""
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def article(noun: str) -> str:
    """``"a"`` or ``"an"`` before ``noun`` by its first letter (an office, a district, a unit).

    The rule is the written vowel (a, e, i, o, u): it errs on words such as "university" or "hour",
    which a plan's unit nouns rarely are.
    """
    return "an" if noun[:1].lower() in ("a", "e", "i", "o", "u") else "a"


def key_name(words: str) -> str:
    """A noun as a part of a machine-readable name: lower case, runs of other characters as ``_``.

    ``"welfare office"`` -> ``"welfare_office"``, ``"offices"`` -> ``"offices"``.
    """
    import re

    return re.sub(r"[^0-9a-z]+", "_", words.lower()).strip("_") or "unit"


def few_cluster_caution(
    g: int | None, threshold: int, df: int | None = None, clusters: str = "clusters", reference: str = ""
) -> str:
    """The few-cluster caution every delivered table note, figure caption and report section carries.

    Empty unless ``g`` (the clusters G of a cluster-robust covariance) is below ``threshold`` (the
    plan's ``[inference] few_clusters``, 10 by default). ``df``: the t reference's degrees of freedom
    (G - 1) when p-values and intervals used t(G-1), else None (the normal reference). ``clusters``:
    the plan's plural noun for the clusters. ``reference``: the sentence on the reference used, when
    the caller's is neither (e.g. a table of several p-values).

    With few clusters the sandwich averages few outer products and Wald p-values and intervals at
    the normal reference are too small (Cameron and Miller 2015, Sec. VI); t(G-1) is less so; the
    wild cluster score bootstrap and randomization inference do not rest on the sandwich's
    large-G approximation. Stata prints no such note; R's ``sandwich`` neither.
    """
    if g is None or g >= threshold:
        return ""
    if not reference:
        reference = (
            f"p-values and intervals use the t({df}) reference (t(G-1))"
            if df is not None
            else f"p-values and intervals use the normal reference and may be too small (t({g - 1}) is the "
            "G-1 reference)"
        )
    return (
        f"Few clusters: G = {g} {clusters}, fewer than {threshold}; {reference}. The wild cluster score "
        "bootstrap and randomization inference do not rest on the sandwich's large-G approximation."
    )
