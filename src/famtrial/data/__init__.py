"""Data: read a long panel (file, DataFrame or partitioned Parquet on Dask), parse its months, validate it
against the plan, and hold it as a :class:`~famtrial.data.panel.Panel`; guess a plan from data
(:mod:`famtrial.data.scaffold`)."""
