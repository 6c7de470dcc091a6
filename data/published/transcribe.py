"""Transcribe the paper's numbers (shared/paper/published.toml + the paper's stars) into trial.toml.

Run from the repository root:  python data/published/transcribe.py ../shared/paper/published.toml
Every number keeps its printed text (the paper drops the leading zero: 0.548 is printed ".548"),
from which famtrial derives the printed precision. Stars and Table 4's descriptive columns are not
in published.toml and are typed here from the paper (checked against the paper's text by
tests/published/test_verify.py when the paper is present).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

BINARY = ["n_total", "pct_total", "n_treated", "pct_treated", "n_control", "pct_control", "chi2", "p"]
CONTINUOUS = ["mean_total", "sd_total", "mean_treated", "sd_treated", "mean_control", "sd_control", "t", "p"]
ORDER = [
    "experimental",
    "female",
    "year_of_birth",
    "married",
    "n_children",
    "immigrant",
    "reduced_work_capacity",
    "activation",
    "employed",
]

# Stars as printed (the paper's Table 4 and Tables 5-6); absent = no star.
STARS = {
    "table4.year_of_birth.female": "***",
    "table4.married.female": "***",
    "table4.married.year_of_birth": "***",
    "table4.n_children.female": "***",
    "table4.n_children.married": "***",
    "table4.immigrant.year_of_birth": "***",
    "table4.immigrant.married": "***",
    "table4.immigrant.n_children": "***",
    "table4.reduced_work_capacity.experimental": "*",
    "table4.reduced_work_capacity.year_of_birth": "***",
    "table4.reduced_work_capacity.immigrant": "**",
    "table4.activation.experimental": "**",
    "table4.activation.year_of_birth": "**",
    "table4.activation.reduced_work_capacity": "***",
    "table4.employed.experimental": "*",
    "table4.employed.female": "***",
    "table4.employed.year_of_birth": "***",
    "table4.employed.married": "**",
    "table4.employed.n_children": "*",
    "table4.employed.immigrant": "***",
    "table4.employed.reduced_work_capacity": "***",
    "table5.model1.married.or": "*",
    "table5.model1.reduced_work_capacity.or": "***",
    "table5.model2.married.or": "*",
    "table5.model2.reduced_work_capacity.or": "***",
    "table6.model3.n_children.or": "***",
    "table6.model3.reduced_work_capacity.or": "*",
    "table6.model4.n_children.or": "***",
    "table6.model4.reduced_work_capacity.or": "*",
}

# Entries where a correct computation from the paper's own inputs cannot give the printed number:
# verify reports them with status "note" instead of failing (famtrial.published.audit finds each on its own).
INCONSISTENT = {
    "table3.married.chi2": "slip: printed .486 equals the printed p; the counts give 0.550",
    "table3.married.p": "the counts give p = .458; .486 repeats the printed chi2 slip",
    "table3.immigrant.pct_treated": "760/964 = 78.84%, not 79.50 (no count out of 964 gives 79.50%)",
    "table3.immigrant.pct_control": "1266/1573 = 80.48%, not 81.41 (no count out of 1573 gives 81.41%)",
    "table3.immigrant.chi2": "the printed counts give 1.006; 1.395 matches the printed percentages instead",
    "table3.immigrant.p": "the printed counts give p = .316; .237 follows the printed chi2",
    "table3.employed.chi2": "the printed counts give 5.286, not 5.362",
    "table3.employed.pct_total": "733/2537 = 28.89%, printed 28.90",
    "table3.year_of_birth.t": "the printed means/SDs give -1.53; -1.510 needs the means at the edge of their rounding",
    "table3.year_of_birth.p": "follows the printed t; the printed means/SDs give p = .126",
    "table3.n_children.t": "the printed means/SDs give -0.83; -0.956 needs the means at the edge of their rounding",
    "table3.n_children.p": "follows the printed t; the printed means/SDs give p = .40",
    "table4.year_of_birth.experimental": "sign: Table 3's means (treated 1977.67 > control 1977.11) give +.03",
    "monthly.activation.significant_months": "Table 3 shows activation differing by arm at 2016-10 (p = .003): "
    "a 2016-10 logit without the outcome's baseline is significant, one with it is degenerate (y = baseline y)",
    "monthly.employment.significant_months": "Table 3 shows employment differing by arm at 2016-10 (p = .021): "
    "a 2016-10 logit without the outcome's baseline is significant, one with it is degenerate (y = baseline y)",
}
# Printed by truncation, not rounding (recomputed from the paper's own counts): one printed unit.
TRUNCATED = {
    "table3.reduced_work_capacity.chi2": "printed truncated: the counts give 5.7968",
    "table3.activation.chi2": "printed truncated: the counts give 8.9218",
}
# Table 4 descriptive columns as printed: n or M, then % or SD (experimental "964 37", rwc "312").
TABLE4_DESCRIPTIVES = {
    "experimental": ("n", "964", "pct", "37"),
    "female": ("n", "1712", "pct", "67.48"),
    "year_of_birth": ("mean", "1977.32", "sd", "8.95"),
    "married": ("n", "1150", "pct", "45.33"),
    "n_children": ("mean", "2.28", "sd", "1.17"),
    "immigrant": ("n", "2026", "pct", "79.86"),
    "reduced_work_capacity": ("n", "312", "pct", "32.01"),
    "activation": ("n", "374", "pct", "14.74"),
    "employed": ("n", "733", "pct", "28.90"),
}


def _literals(text: str) -> dict[str, list[str]]:
    """Numeric literals as written, per 'section.key' (keeps trailing zeros: -1.510, 28.90)."""
    out, section, pending = {}, "", None
    for raw in text.splitlines():
        line = raw.split("#")[0].strip()
        if pending is not None:
            out[pending] += re.findall(r"-?\d+(?:\.\d+)?", line)
            if line.endswith("]]") or line == "]":
                pending = None
        elif line.startswith("["):
            section = line.strip("[]").strip()
        elif "=" in line:
            key, value = (s.strip() for s in line.split("=", 1))
            out[f"{section}.{key}"] = [] if value.startswith('"') else re.findall(r"-?\d+(?:\.\d+)?", value)
            if value.startswith("[[") and not value.endswith("]]"):
                pending = f"{section}.{key}"
    return out


def printed(literal: str) -> str:
    """The paper's typography: no leading zero before the decimal point (0.548 -> .548, -0.03 -> -.03)."""
    return re.sub(r"^(-?)0\.", r"\1.", literal)


def _value(literal: str) -> str:
    return literal if "." in literal else str(int(literal))


def _entry(key: str, literal: str, *, printed_text: str | None = None) -> str:
    parts = [f"value = {_value(literal)}", f'printed = "{printed_text or printed(literal)}"']
    if key in STARS:
        parts.append(f'stars = "{STARS[key]}"')
    if key in INCONSISTENT:
        parts.append(f'inconsistent = "{INCONSISTENT[key]}"')
    if key in TRUNCATED:
        parts.append(f'tolerance = 0.001, note = "{TRUNCATED[key]}"')
    return f'"{key}" = {{ {", ".join(parts)} }}'


def transcribe(source: Path) -> str:
    text = source.read_text(encoding="utf-8")
    pub = tomllib.loads(text)
    lits = _literals(text)
    numbers: list[str] = []
    for key in (
        "offices_included",
        "parents_included",
        "parents_treated",
        "parents_control",
        "families_treated",
        "families_control",
        "parents_excluded",
    ):
        numbers.append(_entry(f"sample.{key}", lits[f"sample.{key}"][0]))
    for part, included in (("included", "1"), ("excluded", "0")):
        for office in pub["table2"][part]:
            coord, ordin = lits[f"table2.{part}.{office}"]
            numbers += [
                _entry(f"table2.{office}.coordinated", coord),
                _entry(f"table2.{office}.ordinary", ordin),
                _entry(f"table2.{office}.included", included),
            ]
    for arm, lit in zip(("total", "treated", "control"), lits["table3.n"]):
        numbers.append(_entry(f"table3.n.{arm}", lit))
    for var in pub["table3"]:
        if var in ("n", "consistency_notes"):
            continue
        fields = CONTINUOUS if var in ("year_of_birth", "n_children") else BINARY
        numbers += [_entry(f"table3.{var}.{f}", lit) for f, lit in zip(fields, lits[f"table3.{var}"], strict=True)]
    for row in pub["table4"]:
        numbers += [_entry(f"table4.{row}.{col}", lit) for col, lit in zip(ORDER, lits[f"table4.{row}"])]
    for table in ("table5", "table6"):
        for model, terms in pub[table].items():
            for term in terms:
                lit = lits[f"{table}.{model}.{term}"]
                if term == "pseudo_r2":
                    numbers.append(_entry(f"{table}.{model}.pseudo_r2", lit[0]))
                    continue
                numbers += [
                    _entry(f"{table}.{model}.{term}.{f}", x)
                    for f, x in zip(("or", "se", "ci_low", "ci_high"), lit, strict=True)
                ]
    for outcome in ("activation", "employment"):
        months = pub["monthly"][outcome]["significant_months"]
        key = f"monthly.{outcome}.significant_months"
        extra = f', inconsistent = "{INCONSISTENT[key]}"' if key in INCONSISTENT else ""
        numbers.append(f'"{key}" = {{ value = "{",".join(months)}", printed = "{", ".join(months)}"{extra} }}')
        flat = lits.get(f"monthly.{outcome}.or_ci", [])
        for i, month in enumerate(months if flat else []):
            numbers += [
                _entry(f"monthly.{outcome}.{month}.{f}", flat[3 * i + j])
                for j, f in enumerate(("or", "ci_low", "ci_high"))
            ]

    context = [_entry(f"design.{k}", lits[f"design.{k}"][0]) for k, v in pub["design"].items() if isinstance(v, int)]
    context += [
        f'"design.{k}" = {{ value = "{v}", printed = "{v}" }}'
        for k in ("panel_start", "implementation", "panel_end")
        for v in [pub["design"][k]]
    ]
    context.append(
        '"text.offices_excluded" = { value = 15, printed = "15", note = "Methods: 15 of the 29 offices '
        'had fewer than one-third of the parents remaining" }'
    )
    for var, (f1, v1, f2, v2) in TABLE4_DESCRIPTIVES.items():
        context += [_entry(f"table4.{var}.{f1}", v1), _entry(f"table4.{var}.{f2}", v2)]

    head = [
        "# The published numbers of the family-coordinator trial (Malmberg-Heimonen et al.; NCT03102775),",
        "# transcribed from shared/paper/published.toml and the paper (stars, Table 4's descriptive columns).",
        "# Each entry: value (as printed), printed (the printed text, which fixes the printed precision:",
        "# '1.05' -> 2 decimals -> default tolerance 0.005), and optionally stars, note, tolerance (absolute,",
        "# overrides half a printed unit) and inconsistent (the paper's own inputs contradict the printed",
        "# number: famtrial verify reports it as 'note' instead of failing; famtrial audit finds each).",
        "# [numbers]: keys of the contract (famtrial reproduce writes the same keys to reproduced.csv).",
        "# [context]: printed numbers that are inputs of the audit, not outputs of reproduce.",
        "# [tolerances]: per-table / prefix tolerance overrides shipped with the spec (most specific wins).",
        "",
        "[meta]",
        'title = "Coordinated follow-up of low-income families: activation and employment (NCT03102775)"',
        'source = "shared/paper/published.toml; paper Tables 2-6, Methods and Results text"',
        "",
        "[tolerances]",
        "table4 = { value = 0.01, reason = \"Table 4 truncates: the phi of arm x reduced work capacity from Table 3's "
        'counts is .0478, printed .04; arm x activation .0593, printed .05" }',
        "",
        "[numbers]",
    ]
    return "\n".join(head + numbers + ["", "[context]"] + context) + "\n"


if __name__ == "__main__":
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/paper/published.toml")
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).with_name("trial.toml")
    out.write_text(transcribe(src), encoding="utf-8")
    print("wrote", out)
