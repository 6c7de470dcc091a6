"""famtrial's exceptions and warnings: one tree.

Every error famtrial raises on purpose subclasses :class:`FamtrialError` and the builtin it refines
(``ValueError`` for bad values, ``TypeError`` for a wrong kind of object, ``RuntimeError`` for a
failed computation, ``ImportError`` for a missing optional dependency), so ``except ValueError`` keeps
working and ``except famtrial.FamtrialError`` catches them all. Every warning subclasses
:class:`FamtrialWarning`. Messages name the argument, column, key, month or file, give the count, and
say how to fix it.

This module imports nothing of famtrial: every layer may raise these.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "FamtrialError",
    "PlanError",
    "PanelError",
    "DesignError",
    "ResultsError",
    "ModelInputError",
    "ModelTypeError",
    "SeparationError",
    "ConvergenceError",
    "SpecError",
    "RegistrationError",
    "ExportError",
    "FormulaError",
    "DaskFormulaError",
    "PostEstimationError",
    "NotIdentifiedError",
    "OptionError",
    "ExistingFileError",
    "DaskNotInstalledError",
    "FamtrialWarning",
    "FamtrialDeprecationWarning",
    "FewClustersWarning",
]


class FamtrialError(Exception):
    """Base class of every error famtrial raises on purpose."""


# -- the trial layer: plan, panel, simulation design ---------------------------------------------------
class PlanError(FamtrialError, ValueError):
    """An analysis plan that cannot be used as written; the message names the key and the fix."""


class PanelError(FamtrialError, ValueError):
    """A panel that famtrial cannot analyse as given; the message says which column and what to do.

    The error of a row check also carries its failure parts as ``parts`` (set by
    :func:`famtrial.data.failures.fail`; other errors have no ``parts``), so that partitions' errors combine.
    """

    parts: tuple[str, int, list[object], str, str, list[object], int]


class DesignError(FamtrialError, ValueError):
    """A trial design that cannot be simulated; the message names the TOML key and the fix."""


class ResultsError(FamtrialError, ValueError):
    """A results folder that cannot be written safely or cannot be trusted.

    Writing: the folder is locked by another run, or a file in it is a symbolic link. Reading
    (``famtrial verify``): no manifest, an unfinished run, or a file whose hash differs from the
    manifest's (stale or mixed). The message names the file and the fix.
    """


# -- the numeric layer: models and inference ---------------------------------------------------------
class ModelInputError(FamtrialError, ValueError):
    """Bad data given to an estimator.

    A missing or non-numeric column, non-finite values, a non-0/1 outcome. The message names the column
    and the count.
    """


class ModelTypeError(FamtrialError, TypeError):
    """An argument of the wrong kind.

    A Panel where a DataFrame is expected, a bare string where a list of column names is expected.
    """


class SeparationError(ModelInputError):
    """The outcome is perfectly predicted by the regressors: the ML estimate does not exist.

    Attributes
    ----------
    variables : tuple of str
        The regressors whose coefficients run to +-infinity (a minimal set).
    groups : int
        Groups (conditional logit) touched by the separating direction (0 for a plain logit).
    rows : int
        Rows whose outcome the direction determines perfectly.
    """

    def __init__(self, message: str, *, variables: Sequence[str] = (), groups: int = 0, rows: int = 0):
        super().__init__(message)
        self.variables = tuple(variables)
        self.groups = int(groups)
        self.rows = int(rows)


class ConvergenceError(FamtrialError, RuntimeError):
    """Newton iterations failed or did not converge, and no separation explains it.

    Failed: no increase of the log-likelihood after step halving.
    """


class SpecError(FamtrialError, ValueError):
    """A published-number spec that cannot be written or read as asked (``famtrial freeze``); names the file and the fix."""


class RegistrationError(FamtrialError, ValueError):
    """A plan registration that cannot be written or read (``famtrial plan register``); names the file and the fix."""


class ExportError(FamtrialError, ValueError):
    """A plan that ``famtrial export`` cannot translate to Stata or R; names the key and the combination."""


class FormulaError(FamtrialError, ValueError):
    """A formula that cannot be read, or that names columns the data do not have."""


class DaskFormulaError(FormulaError):
    """A formula, option or combination the Dask front end does not fit (the in-memory one may)."""


class PostEstimationError(FamtrialError, ValueError):
    """A post-estimation request that does not fit the results (unknown term, wrong option, ...)."""


class NotIdentifiedError(PostEstimationError):
    """The requested quantity is not identified by the model (e.g. marginal effects after a conditional logit)."""


class OptionError(FamtrialError, ValueError):
    """A global option (``famtrial.options``, or its environment variable) set to a value it cannot take."""


class ExistingFileError(FamtrialError, FileExistsError):
    """A file famtrial would write already exists and was not to be overwritten."""


class DaskNotInstalledError(FamtrialError, ImportError):
    """famtrial's Dask support was used without dask[dataframe] and distributed installed."""


# -- warnings --------------------------------------------------------------------------------------------
class FamtrialWarning(UserWarning):
    """Base class of famtrial's warnings."""


class FamtrialDeprecationWarning(FamtrialWarning, DeprecationWarning):
    """A name or module path that still works but goes in the next minor release.

    The message names its replacement (see the CHANGELOG).
    """


class FewClustersWarning(FamtrialWarning):
    """A cluster-robust covariance rests on too few clusters.

    Too few for its normal (or t) reference distribution to be trusted (see
    :data:`famtrial.models.covariance.FEW_CLUSTERS`).
    """
