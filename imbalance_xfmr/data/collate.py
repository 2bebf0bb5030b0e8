"""Dynamic padding: a Dataset over ragged token ids that builds whole padded batches at once.

PyTorch's ``DataLoader`` calls ``dataset.__getitems__(indices)`` when the dataset has it, so a batch is one vectorized
gather instead of B per-row fetches and a collate; pass :func:`identity_collate` as ``collate_fn``. Each batch is
padded to its own longest row (dynamic padding), never to a global ``max_length``.

Batch format (the interface the classifier consumes):
    ``input_ids``: int64 (B, T), [PAD] = 0 after each row's tokens; ``attention_mask``: bool (B, T), True at real
    tokens; ``labels``: int64 (B,) when the dataset has labels, otherwise ``index``: int64 (B,), the rows' positions
    in the original data (prediction batches, which may be reordered by length).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from .tokenizer import EncodedTexts


class PaddedTextDataset(Dataset):
    """Rows of ``encoded`` (with their encoded ``labels``) served as dynamically padded batches.

    Parameters
    ----------
    encoded : EncodedTexts
        Ragged token ids, each row starting with [CLS].
    labels : ndarray of int (N,) or None
        Encoded class labels; None for unlabelled (prediction) data, whose batches carry ``index`` instead.
    pad_token_id : int
        Id written after each row's tokens; 0 in our tokenizer.
    """

    def __init__(self, encoded: EncodedTexts, labels: np.ndarray | None = None, pad_token_id: int = 0) -> None:
        if labels is not None and len(labels) != len(encoded):
            raise ValueError(f"{len(encoded)} encoded rows but {len(labels)} labels.")
        self.token_ids = torch.from_numpy(encoded.token_ids.astype(np.int64))
        self.starts = torch.from_numpy(encoded.offsets[:-1].copy())
        self.lengths = torch.from_numpy(encoded.lengths)
        self.labels = None if labels is None else torch.tensor(np.asarray(labels), dtype=torch.long)
        self.pad_token_id = pad_token_id

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitems__(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        index = torch.as_tensor(indices, dtype=torch.long)
        lengths = self.lengths[index]  # (B,)
        positions = torch.arange(int(lengths.max()))  # (T,)
        attention_mask = positions < lengths[:, None]  # (B, T)
        # Padded slots read the row's first token (always valid), then get overwritten with [PAD].
        gather = self.starts[index][:, None] + torch.where(attention_mask, positions, 0)
        input_ids = self.token_ids[gather].masked_fill_(~attention_mask, self.pad_token_id)
        batch = {"input_ids": input_ids, "attention_mask": attention_mask}
        if self.labels is None:
            batch["index"] = index
        else:
            batch["labels"] = self.labels[index]
        return batch

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        """A batch of the single row ``i``."""
        return self.__getitems__([i])


def identity_collate(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``collate_fn`` for :class:`PaddedTextDataset`: ``__getitems__`` already returns the padded batch."""
    return batch
