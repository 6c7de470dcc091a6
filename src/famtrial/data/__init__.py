"""Data: read a long panel, parse its months, validate it against the plan, and hold it as a Panel.

The modules follow a load: :mod:`~famtrial.data.read` (a DataFrame, a .csv, .parquet or .dta file, or a
partitioned Parquet dataset on Dask), :mod:`~famtrial.data.months` (every month form as ``period[M]``),
:mod:`~famtrial.data.checks` (the numbered checks both loaders make, in one order) with
:mod:`~famtrial.data.failures` (a row check's message, and partitions' failures combined),
:mod:`~famtrial.data.panel` (:class:`~famtrial.data.panel.Panel` and its
:class:`~famtrial.data.panel.LoadReport`), :mod:`~famtrial.data.load` (:func:`~famtrial.data.load.load_panel`)
and :mod:`~famtrial.data._dask` (the same load partition by partition). :mod:`~famtrial.data.scaffold`
guesses a plan from data (``famtrial plan init``).
"""
