"""Published numbers: a spec of printed numbers (:mod:`.verify`), the check of a results folder against
it, the audit of a paper's internal consistency (:mod:`.audit`) and the pytest helper (:mod:`.testing`).
"""
