"""A small binary competition cut from the embedded demo, for end-to-end pipeline tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

DEMO = Path("competition/demo/binary")


def write_tiny_competition(folder: Path, n_spam: int, n_ham: int, n_test: int) -> Path:
    """Write train.csv (the demo's first ``n_spam`` spam and ``n_ham`` ham rows, in the demo's order), test.csv and
    sample_submission.csv (their first ``n_test`` rows) to ``folder``; return ``folder``."""
    train, test, sample = (pd.read_csv(DEMO / name, dtype=str, keep_default_na=False)
                           for name in ("train.csv", "test.csv", "sample_submission.csv"))
    subset = pd.concat([train[train["label"] == "spam"].head(n_spam), train[train["label"] == "ham"].head(n_ham)])
    subset.sort_index().to_csv(folder / "train.csv", index=False)
    test.head(n_test).to_csv(folder / "test.csv", index=False)
    sample.head(n_test).to_csv(folder / "sample_submission.csv", index=False)
    return folder
