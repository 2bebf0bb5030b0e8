"""``submission.csv``: the chosen model's test predictions in exactly ``sample_submission.csv``'s format.

Same columns in the same order, the same ids in the same order (taken from sample_submission itself), and either
labels or probabilities (one column per class named like the class, or, for a binary task with a single value
column, the probability of the positive class). The frame is checked by
:func:`competition.data.validate_submission` before it is written, atomically.

Labels come from the model's decision rule in ``decision.json``, applied fold model by fold model
(:func:`competition.decision.predict_labels_per_fold` on the per-fold test files): the rule was tuned on
out-of-fold probabilities, each from a single fold model, and the average of the K fold models is less confident
than any one of them, so the rule applied to ``test.csv``'s average over-corrects. Probabilities come from the
ensembled ``test.csv`` (``baseline_test.csv``, ``blend_test.csv``), so ``submission.ensembling: rank`` changes
probability submissions only. A label submission from a run folder without the per-fold test files (made by an
older version) fails with the step to re-run; it does not fall back to the averaged probabilities.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from competition.config import PipelineConfig
from competition.context import Context
from competition.data import Competition, CompetitionDataError, validate_submission
from competition.decision import (
    MODEL_FILES,
    DecisionError,
    load_decisions,
    positive_class,
    predict_labels_per_fold,
    read_probabilities,
    read_test_per_fold,
)
from competition.rundir import write_csv

SUBMISSION_FILE = "submission.csv"


def check_source(config: PipelineConfig) -> None:
    """Raise :class:`DecisionError` when ``submission.source`` names a model the config does not make (checked
    before training too, so that no fold is trained for nothing)."""
    source = config.submission.source
    needs = {"transformer": ["transformer"], "baseline": ["baseline"], "blend": ["transformer", "baseline"]}[source]
    disabled = [name for name in needs if not getattr(config, name).enabled]
    if disabled:
        raise DecisionError(f"submission.source is {source!r}, but {' and '.join(disabled)} "
                         f"{'is' if len(disabled) == 1 else 'are'} disabled ({disabled[0]}.enabled=false); enable it "
                         "or choose another submission.source")


def make_submission(competition: Competition, kind: str, predictions: np.ndarray,
                    positive: str | None = None) -> pd.DataFrame:
    """The submission frame for ``predictions`` in sample_submission.csv's row order: labels (n_test,) for
    ``kind='labels'``, probabilities (n_test, C) in ``competition.classes`` order for ``kind='probabilities'``
    (which, with a single value column, needs the binary task's ``positive`` class). The frame is not validated
    here (see :func:`write_submission`)."""
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


def write_submission(path: Path, submission: pd.DataFrame, competition: Competition, kind: str) -> None:
    """Validate ``submission`` against sample_submission.csv (:class:`CompetitionDataError` if it does not match),
    then write it atomically to ``path``."""
    validate_submission(submission, competition.sample_submission, competition.classes, kind,
                        competition.id_column)
    write_csv(path, submission)


def submit(run_path: Path, competition: Competition, config: PipelineConfig,
           log: Callable[[str], None] = print) -> Path:
    """Write ``run_path/submission.csv`` from ``submission.source``'s test predictions; return its path.

    Labels: the source's rule from ``decision.json`` (tuned again when it was tuned for another metric) on its
    per-fold test probabilities. Probabilities: its ensembled test file. See the module docstring for why."""
    check_source(config)
    source, kind = config.submission.source, config.submission.kind
    if kind == "labels":
        rules = load_decisions(run_path, competition, config, log)
        if source not in rules:
            raise CompetitionDataError(f"{run_path}/decision.json has no rule for {source!r} (it has "
                                       f"{sorted(rules)}); re-run the predict step")
        per_fold = read_test_per_fold(run_path, competition, source)
        predictions = predict_labels_per_fold(per_fold, competition.classes, rules[source])
        how = f"labels from {source}'s rule on each of its {len(per_fold)} fold models"
    else:
        test_file = run_path / MODEL_FILES[source][1]
        if not test_file.is_file():
            raise CompetitionDataError(f"{test_file} is missing, so there is nothing to submit from "
                                       f"submission.source={source!r}; run the steps before submit (or `run`)")
        predictions, _ = read_probabilities(test_file, competition, "test")
        how = f"probabilities from {source}"
    positive = (positive_class(competition.classes, competition.train_labels, config.threshold.positive_class)
                if len(competition.classes) == 2 else None)
    path = run_path / SUBMISSION_FILE
    write_submission(path, make_submission(competition, kind, predictions, positive), competition, kind)
    log(f"submit: wrote {path} ({how}, {len(predictions)} rows)")
    return path


def step_submit(ctx: Context) -> None:
    """The ``submit`` step: :func:`submit` into the run folder."""
    submit(ctx.run.path, ctx.competition, ctx.config, ctx.run.log)
