"""Throughput of the hand-written encoder against torch.nn.TransformerEncoder, and of length-bucketed dynamic
padding against fixed max-length padding, in real (non-padding) tokens per second.

Both parts run on batches of the real SMS-spam texts (``/work/shared/data/sms_spam/train.csv``, read in place),
tokenized with the project's WordPiece tokenizer fitted on them.

1. Encoder: the same classifier (embedding, positions, pooling, head) with our ``Encoder`` or a
   ``torch.nn.TransformerEncoder`` of the same width, heads, feed-forward size, dropout, activation, norm placement
   (and final norm) inside, fed the same length-bucketed batches and key padding masks. With [CLS] pooling (the
   default here) our classifier asks the encoder for position 0 only, so its last layer skips the other positions'
   queries, feed-forward and norms; "ours, every position" is our encoder without that shortcut, like for like
   with torch.nn (which cannot skip). With ``--pooling mean`` every position is needed. A training step is
   forward, cross-entropy, backward and an AdamW step; inference is a forward pass under ``inference_mode`` in
   eval mode, where torch may take its fused fast path (and, for post-LN, skip padding with nested tensors).
   CPU in float32; on a GPU, when one is available, under bf16 autocast as well.
2. Padding: training steps of our model on the same rows batched three ways: shuffled and padded to
   ``max_length`` (fixed), shuffled with dynamic padding, and length-bucketed with dynamic padding.

Batches are built before timing; each measurement is the median of ``--repeats`` passes, the contenders
interleaved pass by pass so that machine load affects both alike. Run from the repository root:

    PYTHONPATH=. python benchmarks/model.py [--quick] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from imbalance_xfmr.data.collate import PaddedTextDataset
from imbalance_xfmr.data.tokenizer import SubwordTokenizer
from imbalance_xfmr.model.encoder import Encoder, EncoderConfig, TransformerClassifier
from imbalance_xfmr.sampling.torch_sampler import ResamplingSampler

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "sms_spam" / "train.csv"
Batch = dict[str, Tensor]


class TorchEncoder(nn.Module):
    """``torch.nn.TransformerEncoder`` behind our ``Encoder``'s interface: (B, T, D) and a (B, T) real-token mask."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(
            config.d_model,
            config.n_heads,
            config.d_ff,
            config.dropout,
            activation=config.activation,
            layer_norm_eps=config.layer_norm_eps,
            batch_first=True,
            norm_first=config.norm_first,
        )
        final_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps) if config.norm_first else None
        # Nested tensors (padding skipped at inference) are only available to post-LN stacks.
        self.stack = nn.TransformerEncoder(layer, config.n_layers, norm=final_norm, enable_nested_tensor=not config.norm_first)

    def forward(self, x: Tensor, attention_mask: Tensor, n_outputs: int | None = None) -> Tensor:
        return self.stack(x, src_key_padding_mask=~attention_mask)  # every position: torch cannot skip any


class EveryPosition(nn.Module):
    """Our ``Encoder`` made to compute every position's output even for [CLS] pooling, which reads position 0
    only: the like-for-like comparison with torch.nn, without the shortcut our classifier takes."""

    def __init__(self, encoder: Encoder) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, x: Tensor, attention_mask: Tensor, n_outputs: int | None = None) -> Tensor:
        return self.encoder(x, attention_mask)


def build_model(config: EncoderConfig, encoder: str, device: torch.device) -> nn.Module:
    """The classifier with our encoder as shipped (``ours``), our encoder computing every position
    (``ours, every position``) or torch.nn's (``torch``); the same initial weights outside the encoder."""
    torch.manual_seed(0)
    model = TransformerClassifier(config)
    if encoder == "torch":
        model.encoder = TorchEncoder(config)
    elif encoder == "ours, every position":
        model.encoder = EveryPosition(model.encoder)
    return model.to(device)


# ----------------------------------------------------------------------------------------------------------
# Data


def load_rows(max_length: int, vocab_size: int) -> PaddedTextDataset:
    frame = pd.read_csv(DATA)
    texts = frame["text"].astype(str).tolist()
    labels = (frame["label"] == frame["label"].value_counts().index[-1]).to_numpy().astype(np.int64)  # minority = 1
    tokenizer = SubwordTokenizer(vocab_size=vocab_size).fit(texts)
    encoded = tokenizer.encode(texts, max_length=max_length)
    return PaddedTextDataset(encoded, labels)


def make_batches(dataset: PaddedTextDataset, index_batches: Iterable[list[int]], pad_to: int | None, limit: int) -> list[Batch]:
    """The first ``limit`` batches, dynamically padded, or padded to ``pad_to`` tokens when it is given."""
    batches = []
    for indices in index_batches:
        batch = dataset.__getitems__(indices)
        if pad_to is not None:
            extra = pad_to - batch["input_ids"].shape[1]
            batch["input_ids"] = F.pad(batch["input_ids"], (0, extra), value=0)
            batch["attention_mask"] = F.pad(batch["attention_mask"], (0, extra), value=False)
        batches.append(batch)
        if len(batches) == limit:
            break
    return batches


def bucketed(dataset: PaddedTextDataset, batch_size: int, seed: int) -> list[list[int]]:
    """One epoch of shuffled rows, length-bucketed the way the DataModule does it (``length_bucketing=True``,
    no resampling: an under-sample that keeps every row)."""
    labels = dataset.labels.numpy()
    classes, counts = np.unique(labels, return_counts=True)
    keep_all = dict(zip(classes.tolist(), counts.tolist()))
    sampler = ResamplingSampler(labels, keep_all, kind="under", seed=seed, lengths=dataset.lengths, batch_size=batch_size)
    order = list(sampler)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def shuffled(n_rows: int, batch_size: int, seed: int) -> list[list[int]]:
    order = np.random.default_rng(seed).permutation(n_rows)
    return [order[i : i + batch_size].tolist() for i in range(0, n_rows, batch_size)]


# ----------------------------------------------------------------------------------------------------------
# Timing


def train_step_fn(model: nn.Module, device: torch.device, bf16: bool) -> Callable[[Batch], None]:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step(batch: Batch) -> None:
        model.train()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(batch["input_ids"], batch["attention_mask"])
        loss = F.cross_entropy(logits.float(), batch["labels"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def inference_fn(model: nn.Module, device: torch.device, bf16: bool) -> Callable[[Batch], None]:
    def step(batch: Batch) -> None:
        model.eval()
        with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            model(batch["input_ids"], batch["attention_mask"])

    return step


def tokens_per_second(step: Callable[[Batch], None], batches: list[Batch], device: torch.device, clock: str) -> float:
    """Real tokens per second of one pass of ``step`` over ``batches``: per wall-clock second, or with
    ``clock="cpu"`` (CPU device only) per second of this process's CPU time, which other processes' load on a
    shared machine does not inflate."""
    real_tokens = sum(int(b["attention_mask"].sum()) for b in batches)
    timer = time.process_time if clock == "cpu" and device.type == "cpu" else time.perf_counter
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = timer()
    for batch in batches:
        step(batch)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return real_tokens / (timer() - start)


def compare(
    contenders: dict[str, tuple[Callable[[Batch], None], list[Batch]]], device: torch.device, repeats: int, clock: str
) -> dict[str, float]:
    """Median real tokens/s of each contender, passes interleaved; one untimed warm-up pass on a few batches."""
    for step, batches in contenders.values():
        for batch in batches[:3]:
            step(batch)
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, (step, batches) in contenders.items():
            rates[name].append(tokens_per_second(step, batches, device, clock))
    return {name: statistics.median(values) for name, values in rates.items()}


def to_device(batches: list[Batch], device: torch.device) -> list[Batch]:
    return [{key: value.to(device) for key, value in batch.items()} for batch in batches]


# ----------------------------------------------------------------------------------------------------------
# The two benchmarks


def encoder_benchmark(
    config: EncoderConfig, batches: list[Batch], device: torch.device, bf16: bool, repeats: int, clock: str
) -> None:
    batches = to_device(batches, device)
    names = ("ours", "ours, every position", "torch") if config.pooling == "cls" else ("ours", "torch")
    models = {name: build_model(config, name, device) for name in names}
    setting = f"{device.type}{' bf16 autocast' if bf16 else ' float32'}, {'pre' if config.norm_first else 'post'}-LN"
    for mode, make_step in (("training", train_step_fn), ("inference", inference_fn)):
        rates = compare({name: (make_step(model, device, bf16), batches) for name, model in models.items()},
                        device, repeats, clock)
        target = 1.0 if mode == "training" else 0.9
        for name in names[:-1]:
            ratio = rates[name] / rates["torch"]
            print(
                f"  {setting:<28} {mode:<10} {name:<21} {rates[name]:>10,.0f} tok/s   torch.nn {rates['torch']:>10,.0f}"
                f" tok/s   ratio {ratio:5.2f}x (target >= {target}x{'' if ratio >= target else ', MISSED'})"
            )


def padding_benchmark(
    config: EncoderConfig,
    dataset: PaddedTextDataset,
    batch_size: int,
    n_batches: int,
    device: torch.device,
    bf16: bool,
    repeats: int,
    clock: str,
) -> None:
    model = build_model(config, "ours", device)
    step = train_step_fn(model, device, bf16)
    plans = {
        f"fixed, padded to {config.max_length}": make_batches(dataset, shuffled(len(dataset), batch_size, 0), config.max_length, n_batches),
        "dynamic padding, shuffled": make_batches(dataset, shuffled(len(dataset), batch_size, 0), None, n_batches),
        "dynamic padding, length-bucketed": make_batches(dataset, bucketed(dataset, batch_size, 0), None, n_batches),
    }
    rates = compare({name: (step, to_device(batches, device)) for name, batches in plans.items()}, device, repeats, clock)
    fixed = rates[next(iter(plans))]
    for name, batches in plans.items():
        padded = sum(b["attention_mask"].numel() for b in batches)
        real = sum(int(b["attention_mask"].sum()) for b in batches)
        print(
            f"  {name:<34} {rates[name]:>10,.0f} real tok/s   {rates[name] / fixed:5.2f}x fixed"
            f"   ({real / padded:6.1%} of computed positions are real)"
        )
    ratio = rates["dynamic padding, length-bucketed"] / fixed
    print(f"  bucketed vs fixed: {ratio:.2f}x (target >= 2x{'' if ratio >= 2 else ', MISSED'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller model, fewer batches and repeats")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--max-length", type=int, default=128, help="tokens per row, [CLS] included")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--pooling", choices=("cls", "mean", "max"), default="cls")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="CPU timings per wall-clock second, or per second of process CPU time (steadier on a busy machine); GPU timings are always wall-clock",
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="The PyTorch API of nested tensors is in prototype stage")
    if args.threads:
        torch.set_num_threads(args.threads)

    dataset = load_rows(args.max_length, vocab_size=8000)
    lengths = dataset.lengths.numpy()
    size = dict(d_model=128, n_heads=4, n_layers=2, d_ff=512) if args.quick else dict(d_model=256, n_heads=4, n_layers=4, d_ff=1024)
    n_batches, repeats = (12, 5) if args.quick else (24, 7)
    print(
        f"sms_spam: {len(dataset)} rows; WordPiece tokens per row (with [CLS], max {args.max_length}): "
        f"mean {lengths.mean():.1f}, median {np.median(lengths):.0f}, 95th pct {np.percentile(lengths, 95):.0f}"
    )
    print(f"model: {size}, dropout 0.1, gelu, {args.pooling} pooling; batch size {args.batch_size}; torch {torch.__version__}, {torch.get_num_threads()} CPU threads, {args.clock} clock")

    settings = [(torch.device("cpu"), False)]
    if torch.cuda.is_available():
        settings.append((torch.device("cuda"), True))
        print(f"GPU: {torch.cuda.get_device_name()}")
    else:
        print("GPU: none available, CPU only")

    bucketed_batches = make_batches(dataset, bucketed(dataset, args.batch_size, 1), None, n_batches)
    print("\n1. Encoder throughput, same length-bucketed batches (real tokens per second, median of passes)")
    for device, bf16 in settings:
        for norm_first in (True, False):
            config = EncoderConfig(vocab_size=8000, num_classes=2, max_length=args.max_length, norm_first=norm_first,
                                   pooling=args.pooling, **size)
            encoder_benchmark(config, bucketed_batches, device, bf16, repeats, args.clock)

    print(f"\n2. Training-step throughput of our model by batching ({n_batches} batches of {args.batch_size})")
    for device, bf16 in settings:
        print(f"  [{device.type}{' bf16 autocast' if bf16 else ' float32'}]")
        config = EncoderConfig(vocab_size=8000, num_classes=2, max_length=args.max_length, pooling=args.pooling, **size)
        padding_benchmark(config, dataset, args.batch_size, n_batches, device, bf16, repeats, args.clock)


if __name__ == "__main__":
    main()
