"""A plain fine-tuning loop of a pretrained checkpoint, the yardstick of ``--transformer.pretrained`` (issue 23).

What a competitor writes in 30 lines before reaching for a pipeline: the checkpoint's encoder and tokenizer, one
model fitted on all of train (no folds, no decision rule, no blend), AdamW at 5e-5 with 10% warmup and linear decay,
square-root inverse class-frequency weights in the cross-entropy, 3 epochs of batches of 32, the argmax on test.
It prints the test macro-F1 against ``solution.csv`` (for docs/RESULTS.md only: nothing is chosen on it) and the
wall time. The encoder is ours (:func:`imbalance_xfmr.model.hf_checkpoint.from_pretrained`), cross-checked against
transformers' in tests/test_hf_checkpoint.py, so the loop measures the recipe, not an implementation. Run from the
repository root::

    python benchmarks/plain_fine_tuning.py --data.dir ../shared/data/trec --checkpoint CKPT_DIR
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from imbalance_xfmr.data.pretrained_tokenizer import PretrainedTokenizer
from imbalance_xfmr.metrics import f1_score
from imbalance_xfmr.model.hf_checkpoint import from_pretrained


def batches(ids: np.ndarray, offsets: np.ndarray, rows: np.ndarray, pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The padded (B, T) token ids and (B, T) bool mask of ``rows`` of the encoded texts."""
    lengths = offsets[rows + 1] - offsets[rows]
    out = np.full((len(rows), int(lengths.max())), pad, dtype=np.int64)
    for i, row in enumerate(rows):  # a benchmark's batch of 32: clarity over speed
        out[i, : lengths[i]] = ids[offsets[row]:offsets[row + 1]]
    tokens = torch.from_numpy(out)
    return tokens, tokens != pad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data.dir", dest="data_dir", required=True, type=Path)
    parser.add_argument("--checkpoint", required=True, type=Path)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--max_length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    train = pd.read_csv(args.data_dir / "train.csv", dtype=str, keep_default_na=False)
    test = pd.read_csv(args.data_dir / "test.csv", dtype=str, keep_default_na=False)
    solution = pd.read_csv(args.data_dir / "solution.csv", dtype=str, keep_default_na=False).set_index("id")
    classes = np.sort(train["label"].unique())
    y = np.searchsorted(classes, train["label"].to_numpy())
    tokenizer = PretrainedTokenizer.from_pretrained(args.checkpoint)
    encoded = tokenizer.encode(train["text"].tolist(), args.max_length)
    encoded_test = tokenizer.encode(test["text"].tolist(), args.max_length)
    model = from_pretrained(args.checkpoint, num_classes=len(classes))
    counts = np.bincount(y, minlength=len(classes))
    weight = torch.tensor((counts.sum() / counts) ** 0.5, dtype=torch.float32)
    weight = weight / weight.mean()
    steps = args.epochs * math.ceil(len(y) / args.batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup))))
    pad = tokenizer.pad_token_id
    start = time.perf_counter()
    model.train()
    for _ in range(args.epochs):
        for batch in np.array_split(rng.permutation(len(y)), math.ceil(len(y) / args.batch_size)):
            tokens, mask = batches(encoded.token_ids, encoded.offsets, batch, pad)
            loss = F.cross_entropy(model(tokens, mask), torch.from_numpy(y[batch]), weight=weight)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
    fit_seconds = time.perf_counter() - start
    model.eval()
    predicted = []
    with torch.no_grad():
        for batch in np.array_split(np.arange(len(test)), math.ceil(len(test) / 64)):
            tokens, mask = batches(encoded_test.token_ids, encoded_test.offsets, batch, pad)
            predicted.append(model(tokens, mask).argmax(dim=1).numpy())
    labels = classes[np.concatenate(predicted)]
    truth = solution.loc[test["id"], "label"].to_numpy()
    score = f1_score(truth, labels, average="macro", labels=classes)
    print(f"{args.data_dir.name}: plain loop ({args.epochs} epochs, lr {args.lr:g}, batch {args.batch_size}, "
          f"max_length {args.max_length}, seed {args.seed}): test macro-F1 {score:.4f}; fit {fit_seconds:.0f} s, "
          f"{steps} steps, {torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
