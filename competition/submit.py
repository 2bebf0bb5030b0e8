"""The ``submit`` step: ``submission.csv``, the chosen model's test predictions in exactly ``sample_submission.csv``'s
format.

Same columns in the same order, the same ids in the same order (taken from sample_submission itself), and either
labels or probabilities (one column per class named like the class, or, for a binary task with a single value
column, the probability of the positive class). The frame is checked by
:func:`competition.data.validate_submission` before it is written, atomically.

Labels come from the model's decision rule applied fold model by fold model
(:meth:`competition.rules.DecisionRule.predict_per_fold` on the per-fold test probabilities): the rule was tuned
on out-of-fold probabilities, each from a single fold model, and the average of the K fold models is less
confident than any one of them, so the rule applied to the averaged test probabilities over-corrects.
Probabilities come from the ensembled test probabilities, so ``submission.ensembling: rank`` changes probability
submissions only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from competition.context import Context
from competition.data import Competition, validate_submission


def make_submission(competition: Competition, kind: str, predictions: np.ndarray,
                    positive: str | None = None) -> pd.DataFrame:
    """The submission frame for ``predictions`` in sample_submission.csv's row order: labels (n_test,) for
    ``kind='labels'``, probabilities (n_test, C) in ``competition.classes`` order for ``kind='probabilities'``
    (which, with a single value column, needs the binary task's ``positive`` class). Not validated here."""
    sample = competition.sample_submission
    id_column = competition.id_column
    classes = competition.classes
    submission = pd.DataFrame({id_column: sample[id_column].to_numpy(dtype=object)})
    value_columns = [c for c in sample.columns if c != id_column]
    if kind == "labels":
        submission[value_columns[0]] = predictions
    elif len(value_columns) == 1:
        if positive is None:
            raise ValueError("a one-column probability submission needs the positive class")
        submission[value_columns[0]] = predictions[:, int(np.flatnonzero(classes == positive)[0])]
    else:
        for column in value_columns:
            submission[column] = predictions[:, int(np.flatnonzero(classes == column)[0])]
    return submission


def step_submit(ctx: Context) -> None:
    """Write ``submission.csv`` from the submitted model's test predictions (see the module docstring)."""
    competition, run = ctx.competition, ctx.run
    source, kind = ctx.plan.source, ctx.config.submission.kind
    if kind == "labels":
        rule = run.read_decisions(competition)[source]  # current: the runner ran decide when they were not
        per_fold = run.read_test_per_fold(source, competition)
        predictions = rule.predict_per_fold(per_fold, competition.classes)
        how = f"labels from {source}'s rule on each of its {len(per_fold)} fold models"
    else:
        predictions = run.read_test(source, competition)
        how = f"probabilities from {source}"
    submission = make_submission(competition, kind, predictions, ctx.plan.positive_class)
    validate_submission(submission, competition.sample_submission, competition.classes, kind,
                        competition.id_column)
    path = run.write_submission(submission)
    run.log(f"submit: wrote {path} ({how}, {len(predictions)} rows)")
