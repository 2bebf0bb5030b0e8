"""Score finished competition runs against the true test labels, for ``docs/RESULTS.md``.

A real competition hides its test labels; the folders of ``../shared/data/`` ship them as ``solution.csv``. For
each run folder this scores every model the run made (Transformer, baseline, blend): its labels under the decision
rule the run chose out of fold, decided fold model by fold model exactly as a label submission is
(:meth:`competition.rules.DecisionRule.predict_per_fold`), and the plain argmax of its fold-averaged probabilities.
It prints macro-F1 and the minority class's F1 for both, the PR-AUC of the minority class for binary tasks, the
OOF score the rule was chosen on, and the score of the run's ``submission.csv``. Run from the repository root::

    python benchmarks/score_runs.py --data.dir ../shared/data/trec runs/trec [runs/trec_other ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from competition.data import load_competition
from competition.layout import SUBMISSION
from competition.run_folder import RunFolder
from imbalance_xfmr.metrics import average_precision_score, f1_score


def score_run(run_path: Path, data_dir: Path) -> list[dict[str, object]]:
    competition = load_competition(data_dir)
    solution = pd.read_csv(data_dir / "solution.csv", dtype=str, keep_default_na=False)
    truth = solution.set_index("id").loc[competition.test_ids, "label"].to_numpy(dtype=object)
    classes, minority = competition.classes, competition.minority_class
    run = RunFolder.for_reading(run_path)
    rows = []
    for model, rule in run.read_decisions(competition).items():
        by_rule = rule.predict_per_fold(run.read_test_per_fold(model, competition), classes)
        proba = run.read_test(model, competition)
        by_argmax = classes[np.argmax(proba, axis=1)]
        row: dict[str, object] = {"run": run_path.name, "model": model, "rule": rule.describe()[:40],
                                  "oof_rule": None if rule.score is None else round(rule.score, 4)}
        for name, predicted in (("rule", by_rule), ("argmax", by_argmax)):
            row[f"macro_f1_{name}"] = round(float(f1_score(truth, predicted, average="macro")), 4)
            row[f"minority_f1_{name}"] = round(float(f1_score(truth, predicted, labels=[minority], average="macro")),
                                               3)
        if len(classes) == 2:
            column = int(np.flatnonzero(classes == minority)[0])
            row["pr_auc"] = round(float(average_precision_score(truth == minority, proba[:, column])), 4)
        rows.append(row)
    submission = pd.read_csv(run_path / SUBMISSION, dtype=str, keep_default_na=False)
    if competition.label_column in submission:
        submitted = submission.set_index(competition.id_column).loc[competition.test_ids, competition.label_column]
        rows.append({"run": run_path.name, "model": "submission.csv",
                     "macro_f1_rule": round(float(f1_score(truth, submitted.to_numpy(dtype=object),
                                                           average="macro")), 4)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data.dir", dest="data_dir", type=Path, required=True,
                        help="competition folder holding solution.csv")
    parser.add_argument("runs", type=Path, nargs="+", help="run folders of python -m competition run")
    args = parser.parse_args()
    if not (args.data_dir / "solution.csv").is_file():
        parser.error(f"{args.data_dir / 'solution.csv'} does not exist; score only data that ships its labels")
    rows = [row for run in args.runs for row in score_run(run, args.data_dir)]
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
