"""The reproducible competition pipeline (folds, OOF predictions, thresholds, reports, submissions).

It composes :mod:`imbalance_xfmr`; the library knows nothing of competitions. From Python (a notebook):
``from competition.api import CompetitionRun``.
"""
