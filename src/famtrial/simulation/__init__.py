"""Simulation: trial designs and their panels, the shipped replica's generator and power by simulation.

Trial designs and their panels (:mod:`.design`), the shipped replica's generator (:mod:`.replica`) and
power by simulation (:mod:`.power`).
"""
