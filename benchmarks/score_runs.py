"""Score finished competition runs against the true test labels, for ``docs/RESULTS.md``.

A real competition hides its test labels; the folders of ``../shared/data/`` ship them as ``solution.csv``. For
each run folder this scores the Transformer, the baseline and the blend: their labels under the OOF-tuned rule,
decided fold model by fold model exactly as a label submission is (``decision.predict_labels_per_fold``), and the
plain argmax of the fold-averaged probabilities (``test.csv``, ``baseline_test.csv``, ``blend_test.csv``). It prints
macro-F1 and the minority class's F1 for both, the PR-AUC of the minority class for binary tasks, and the OOF
macro-F1 the rule was tuned to. Run from the repository root:

    python benchmarks/score_runs.py --data.dir ../shared/data/trec runs/trec [runs/trec_other ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from competition.data import load_competition
from competition.decision import (
    DECISION_FILE,
    MODEL_FILES,
    predict_labels,
    predict_labels_per_fold,
    read_probabilities,
    read_test_per_fold,
)
from imbalance_xfmr.metrics import average_precision_score, f1_score


def score_run(run: Path, data_dir: Path) -> list[dict[str, object]]:
    competition = load_competition(data_dir)
    solution = pd.read_csv(data_dir / "solution.csv", dtype=str, keep_default_na=False)
    truth = solution.set_index("id").loc[competition.test_ids, "label"].to_numpy(dtype=object)
    classes = competition.classes
    counts = pd.Series(competition.train_labels).value_counts()
    minority = str(counts.index[-1])
    rules = json.loads((run / DECISION_FILE).read_text(encoding="utf-8"))
    rows = []
    for model, (_, test_file) in MODEL_FILES.items():
        if not (run / test_file).is_file():
            continue
        proba, _ = read_probabilities(run / test_file, competition, "test")
        by_rule = predict_labels_per_fold(read_test_per_fold(run, competition, model), classes, rules[model])
        by_argmax = predict_labels(proba, classes, None)
        row: dict[str, object] = {"run": run.name, "model": model, "oof_rule": round(rules[model]["score"], 4)}
        for name, predicted in (("rule", by_rule), ("argmax", by_argmax)):
            row[f"macro_f1_{name}"] = round(float(f1_score(truth, predicted, average="macro")), 4)
            row[f"{minority}_f1_{name}"] = round(
                float(f1_score(truth, predicted, labels=[minority], average="macro")), 3)
        if len(classes) == 2:
            column = int(np.flatnonzero(classes == minority)[0])
            row["pr_auc"] = round(float(average_precision_score(truth == minority, proba[:, column])), 4)
        rows.append(row)
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
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
