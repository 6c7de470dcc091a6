"""Newton-Raphson maximisation with analytic derivatives and step halving, shared by the logit models."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["NewtonResult", "newton", "ConvergenceError"]

Objective = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]


class ConvergenceError(RuntimeError):
    """Raised when Newton iterations do not converge within ``maxiter``."""


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


def newton(objective: Objective, start: np.ndarray, *, tol: float = 1e-18, maxiter: int = 100) -> NewtonResult:
    r"""Maximise a concave log-likelihood by Newton steps ``b += (-H)^-1 g`` with step halving.

    Converged when the Newton decrement ``g' (-H)^-1 g`` (about twice the remaining gain in the
    log-likelihood) falls below ``tol``. Stata's ``ml`` uses the same quantity with
    ``nrtolerance(1e-5)``; the default here is far tighter so estimates match other software to
    machine precision, which costs one or two extra (quadratically convergent) iterations.
    """
    x = np.asarray(start, dtype=float).copy()
    llf, grad, hess = objective(x)
    for iteration in range(1, maxiter + 1):
        step = np.linalg.solve(-hess, grad)
        decrement = float(grad @ step)
        if decrement < tol or not np.isfinite(decrement):
            return NewtonResult(x, llf, grad, hess, iteration - 1, np.isfinite(decrement), decrement)
        for _ in range(40):
            cand = x + step
            new = objective(cand)
            if np.isfinite(new[0]) and new[0] >= llf - 1e-12 * (1 + abs(llf)):
                break
            step = step / 2
        else:
            raise ConvergenceError("step halving failed to increase the log-likelihood (40 halvings)")
        x, (llf, grad, hess) = cand, new
    step = np.linalg.solve(-hess, grad)
    return NewtonResult(x, llf, grad, hess, maxiter, False, float(grad @ step))
