"""Newton-Raphson maximisation with analytic derivatives and step halving, shared by the logit models."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from famtrial.errors import ConvergenceError  # defined with famtrial's other errors; re-exported here

__all__ = ["NewtonResult", "newton", "ConvergenceError"]

Objective = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class NewtonResult:
    """The maximiser and the log-likelihood, gradient and Hessian evaluated there."""

    x: np.ndarray
    llf: float
    gradient: np.ndarray
    hessian: np.ndarray
    iterations: int
    converged: bool
    decrement: float


def newton(
    objective: Objective,
    start: np.ndarray,
    *,
    initial: tuple[float, np.ndarray, np.ndarray] | None = None,
    gradient: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None,
    chord: float = 1e-2,
    tol: float = 1e-18,
    maxiter: int = 100,
) -> NewtonResult:
    r"""Maximise a concave log-likelihood by Newton steps ``b += (-H)^-1 g`` with step halving.

    Converged when the Newton decrement ``g' (-H)^-1 g`` (about twice the remaining gain in the
    log-likelihood) falls below ``tol``. Stata's ``ml`` uses the same quantity with
    ``nrtolerance(1e-5)``; the default here is far tighter so estimates match other software to
    machine precision, which costs one or two extra (quadratically convergent) iterations.
    ``initial`` is ``objective(start)`` when the caller knows it in closed form. ``gradient(x) ->
    (llf, grad)``, a cheaper evaluation without the Hessian: once the decrement is below ``chord``
    every other step reuses the last Hessian (a chord step). The returned Hessian is always
    evaluated at the returned point.
    """
    x = np.asarray(start, dtype=float).copy()
    llf, grad, hess = objective(x) if initial is None else initial
    fresh = True
    for iteration in range(1, maxiter + 1):
        step = np.linalg.solve(-hess, grad)
        decrement = float(grad @ step)
        if fresh and (decrement < tol or not np.isfinite(decrement)):
            return NewtonResult(x, llf, grad, hess, iteration - 1, np.isfinite(decrement), decrement)
        cheap = gradient is not None and fresh and decrement < chord
        for _ in range(40):
            cand = x + step
            new = (*gradient(cand), hess) if cheap and gradient is not None else objective(cand)
            if np.isfinite(new[0]) and new[0] >= llf - 1e-12 * (1 + abs(llf)):
                break
            step = step / 2
        else:
            raise ConvergenceError("step halving failed to increase the log-likelihood (40 halvings)")
        x, (llf, grad, hess), fresh = cand, new, not cheap
    if not fresh:
        llf, grad, hess = objective(x)
    step = np.linalg.solve(-hess, grad)
    return NewtonResult(x, llf, grad, hess, maxiter, False, float(grad @ step))
