"""Plan registration: record a plan's canonical hash and date, and list a run's deviations from it.

Trials register their statistical analysis plan before the data are analysed, and reporting
guidelines (CONSORT item 3b, SPIRIT) ask that every change after registration be reported.
``famtrial plan register plan.toml`` (:func:`register_plan`) writes ``plan.registration.toml`` beside
the plan: the plan's canonical hash (:attr:`Plan.hash <famtrial.plan.spec.Plan.hash>`: equal plans,
one hash, whatever their layout or comments), the date and time (UTC), famtrial's version and the
registered plan itself (its complete TOML document under ``[plan]``), so that a later run can name
every key that changed.

Every ``famtrial reproduce`` calls :func:`registration_status` on its plan: the plan that ran is the
registered one (hashes equal), deviates from it (then every differing key is listed as a dotted TOML
key, ``models.model1.cluster``, with the registered and the run's value), or has no registration.
``report.html`` states it; :meth:`Registration.to_dict` is the record for the run's manifest.

Stata and R have no equivalent (registries hold a PDF; the hash makes the comparison mechanical).
"""

from __future__ import annotations

import datetime as _dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from famtrial._toml import dumps
from famtrial._version import __version__
from famtrial.errors import PlanError, RegistrationError
from famtrial.plan.spec import Plan, load_plan
from famtrial.plan.write import plan_hash, to_dict

__all__ = [
    "Deviation",
    "Registration",
    "deviations",
    "flatten",
    "register_plan",
    "registration_path",
    "registration_status",
]

#: what a run's plan is with respect to its registration
RegistrationState = Literal["registered", "deviates", "not registered"]

_SUFFIX = ".registration.toml"


def registration_path(plan: str | Path) -> Path:
    """The registration file of a plan file: ``plan.toml`` -> ``plan.registration.toml`` beside it."""
    path = Path(plan)
    return path.with_name(path.stem + _SUFFIX)


def flatten(doc: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested TOML document as ``{dotted key: value}`` (``{"models": {"m1": {"cluster": "office"}}}`` -> ``models.m1.cluster``).

    Parameters
    ----------
    doc : Mapping
        Nested tables; lists and scalars are leaves.
    prefix : str
        The dotted path of ``doc`` itself.

    Returns
    -------
    dict
        One entry per leaf.
    """
    out: dict[str, Any] = {}
    for key, value in doc.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, path))
        else:
            out[path] = list(value) if isinstance(value, tuple) else value
    return out


@dataclass(frozen=True)
class Deviation:
    """One key that differs from the registered plan: its dotted TOML key and both values (None: absent)."""

    key: str
    registered: Any
    ran: Any

    def to_dict(self) -> dict[str, Any]:
        """``{"key", "registered", "ran"}`` (absent values as None)."""
        return {"key": self.key, "registered": self.registered, "ran": self.ran}

    def describe(self) -> str:
        """``key: registered X, ran Y`` (``absent`` where a side lacks the key)."""

        def text(value: Any) -> str:
            return "absent" if value is None else repr(value)

        return f"{self.key}: registered {text(self.registered)}, ran {text(self.ran)}"


def deviations(registered: Plan | Mapping[str, Any], ran: Plan | Mapping[str, Any]) -> tuple[Deviation, ...]:
    """Every dotted TOML key whose value differs between two plans (keys in either), in key order.

    Parameters
    ----------
    registered, ran : Plan or Mapping
        Two plans, or their TOML documents (:func:`famtrial.plan.write.to_dict`).

    Returns
    -------
    tuple of Deviation
        Empty when the plans are equal.
    """
    old = flatten(to_dict(registered) if isinstance(registered, Plan) else registered)
    new = flatten(to_dict(ran) if isinstance(ran, Plan) else ran)
    keys = sorted(set(old) | set(new))
    return tuple(Deviation(k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k))


@dataclass(frozen=True)
class Registration:
    """A run's plan against its registration.

    ``status``: ``"registered"`` (the plan that ran has the registered hash), ``"deviates"`` (it differs:
    ``deviations`` lists every key) or ``"not registered"`` (no registration file beside the plan, or
    a plan with no file). ``registration``: the registration file; ``registered_hash`` and
    ``registered_at`` (UTC, ISO 8601) from it; ``plan_hash``: the run's plan's hash.
    """

    status: RegistrationState
    plan_hash: str
    registration: Path | None = None
    registered_hash: str | None = None
    registered_at: str | None = None
    deviations: tuple[Deviation, ...] = ()

    @property
    def is_registered(self) -> bool:
        """Whether the plan that ran is the registered one."""
        return self.status == "registered"

    def to_dict(self) -> dict[str, Any]:
        """The record for a run's manifest: status, hashes, file name, date and the deviations (dicts)."""
        return {
            "status": self.status,
            "plan_hash": self.plan_hash,
            "registration": None if self.registration is None else self.registration.name,
            "registered_hash": self.registered_hash,
            "registered_at": self.registered_at,
            "deviations": [d.to_dict() for d in self.deviations],
        }

    def summary(self) -> str:
        """One sentence on the status, then one line per deviation."""
        if self.status == "registered":
            return (
                f"The plan that ran is the registered plan ({self.registration.name if self.registration else ''}, "
                f"registered {self.registered_at}; hash {self.plan_hash[:12]})."
            )
        if self.status == "not registered":
            return f"The plan that ran has no registration (hash {self.plan_hash[:12]}): famtrial plan register PLAN."
        lines = [
            f"The plan that ran deviates from the registered plan "
            f"({self.registration.name if self.registration else ''}, registered {self.registered_at}; "
            f"hash {(self.registered_hash or '')[:12]}, ran {self.plan_hash[:12]}) in {len(self.deviations)} "
            f"key{'s' if len(self.deviations) != 1 else ''}:"
        ]
        lines += [f"  {d.describe()}" for d in self.deviations]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True)
class RegisteredPlan:
    """What :func:`register_plan` wrote: the registration file, the plan's hash and the date."""

    path: Path
    plan_hash: str
    registered_at: str

    def summary(self) -> str:
        """One line: the file, the hash and the date."""
        return f"famtrial plan register: wrote {self.path} (hash {self.plan_hash}, registered {self.registered_at})"

    def __str__(self) -> str:
        return self.summary()


def register_plan(plan: str | Path, *, force: bool = False, when: _dt.datetime | None = None) -> RegisteredPlan:
    """Register a plan file: write its canonical hash, the date and the plan beside it.

    Parameters
    ----------
    plan : str or Path
        The plan TOML file (read and validated with :func:`~famtrial.plan.spec.load_plan`).
    force : bool
        Replace an existing registration (a registration is meant to be written once).
    when : datetime, optional
        The registration time (default: now, UTC).

    Returns
    -------
    RegisteredPlan
        The registration file (``<plan>.registration.toml``), the hash and the time.
    """
    if not isinstance(plan, (str, Path)) or not Path(plan).is_file():
        raise RegistrationError(
            f"famtrial plan register needs a plan TOML file, got {str(plan)!r}: "
            "a shipped plan's name has no file of yours to register (famtrial plan show NAME > plan.toml first)"
        )
    loaded = load_plan(Path(plan))
    target = registration_path(plan)
    if target.exists() and not force:
        raise RegistrationError(
            f"{target} exists: the plan was registered already; pass --force (force=True) to replace the registration"
        )
    moment = (when or _dt.datetime.now(_dt.UTC)).astimezone(_dt.UTC).replace(microsecond=0)
    stamp = moment.isoformat().replace("+00:00", "Z")
    digest = plan_hash(loaded)
    doc = {
        "registration": {"plan": Path(plan).name, "hash": digest, "registered": stamp, "famtrial": __version__},
        "plan": to_dict(loaded),
    }
    header = (
        "famtrial plan registration: the plan's canonical hash (famtrial.plan.write.plan_hash), the date (UTC)\n"
        "and the registered plan itself, so every later run can list its deviations key by key. Do not edit."
    )
    target.write_text(dumps(doc, {"registration": header}), encoding="utf-8")
    return RegisteredPlan(path=target, plan_hash=digest, registered_at=stamp)


def _read_registration(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``[registration]`` and ``[plan]`` tables of a registration file, its hash checked."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RegistrationError(f"registration {path} cannot be read ({exc}): register the plan again") from None
    meta, doc = raw.get("registration"), raw.get("plan")
    if not isinstance(meta, dict) or not isinstance(doc, dict) or "hash" not in meta:
        raise RegistrationError(
            f"registration {path} lacks its [registration] hash or its [plan]: register the plan again (--force)"
        )
    try:
        registered = Plan.from_dict(doc, source=str(path))
    except PlanError as exc:
        raise RegistrationError(f"registration {path}: its [plan] is not a valid plan ({exc})") from None
    if plan_hash(registered) != meta["hash"]:
        raise RegistrationError(
            f"registration {path}: its [plan] does not have the registered hash {str(meta['hash'])[:12]} "
            "(the file was edited): restore it from version control"
        )
    return meta, to_dict(registered)


def registration_status(plan: Plan, registration: str | Path | None = None) -> Registration:
    """Whether ``plan`` is its registered plan; if not, every differing key.

    Parameters
    ----------
    plan : Plan
        The plan that ran (its file, :attr:`Plan.source`, locates the registration beside it).
    registration : str or Path, optional
        The registration file (default: ``<plan file>.registration.toml`` beside the plan).

    Returns
    -------
    Registration
        ``status``, the hashes, the date and the deviations; ``to_dict()`` for a manifest.
    """
    if not isinstance(plan, Plan):
        raise TypeError(f"plan must be a famtrial Plan, not {type(plan).__name__}")
    digest = plan_hash(plan)
    if registration is None:
        if plan.source.startswith("<") or not Path(plan.source).is_file():
            return Registration(status="not registered", plan_hash=digest)
        registration = registration_path(plan.source)
    path = Path(registration)
    if not path.exists():
        return Registration(status="not registered", plan_hash=digest)
    meta, registered = _read_registration(path)
    if meta["hash"] == digest:
        return Registration(
            status="registered",
            plan_hash=digest,
            registration=path,
            registered_hash=digest,
            registered_at=str(meta.get("registered", "")),
        )
    return Registration(
        status="deviates",
        plan_hash=digest,
        registration=path,
        registered_hash=str(meta["hash"]),
        registered_at=str(meta.get("registered", "")),
        deviations=deviations(registered, to_dict(plan)),
    )
