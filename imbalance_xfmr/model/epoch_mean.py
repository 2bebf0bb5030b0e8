"""Epoch means of logged values accumulated on their device, for the library's LightningModules."""

from __future__ import annotations

import torch
from torch import Tensor


class EpochMean:
    """The mean of a logged value (a loss) over an epoch's rows, summed on its device (no host sync), as Lightning's
    ``self.log(..., on_epoch=True, batch_size=n)`` reduces it: the same float operations in the same order
    (``value = value + loss * n`` in float32, ``rows = rows + n`` in int64, ``value / rows``), so the logged mean is
    bit for bit the one ``self.log`` would have given, at the cost of three small tensor operations a step."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.value: Tensor | None = None
        self.rows: Tensor | None = None
        self.last: Tensor | None = None

    def update(self, loss: Tensor, n: int) -> None:
        loss = loss.detach()
        if loss.dtype not in (torch.float32, torch.float64):  # Lightning keeps logged values in float32 or wider
            loss = loss.to(default_float_dtype())
        if self.value is None:
            self.value = torch.tensor(0.0, dtype=default_float_dtype(), device=loss.device)
            self.rows = torch.tensor(0, device=loss.device)
        self.value = self.value + loss * n
        self.rows = self.rows + n
        self.last = loss

    @property
    def empty(self) -> bool:
        return self.value is None

    def compute(self) -> Tensor:
        return self.value / self.rows


def default_float_dtype() -> torch.dtype:
    """The dtype Lightning accumulates logged values in: torch's default float dtype when float32 or float64."""
    dtype = torch.get_default_dtype()
    return dtype if dtype in (torch.float32, torch.float64) else torch.float32
