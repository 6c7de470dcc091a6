"""Published numbers: their spec, the check of results against it, the paper's audit and a pytest helper.

A spec of printed numbers (:mod:`.verify`), the check of a results folder against it, the audit of a
paper's internal consistency (:mod:`.audit`) and the pytest helper (:mod:`.testing`).
"""
