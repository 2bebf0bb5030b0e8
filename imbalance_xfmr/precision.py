"""Which Trainer ``precision`` a machine runs well: bf16 autocast where there are bf16 matrix units, else fp32.

bf16 mixed precision halves the bytes that matrix products move and, on hardware that multiplies bf16 natively,
runs them several times faster; without such units a CPU emulates bf16 and autocast only costs time (and it rounds
for nothing). :func:`choose_precision` looks at the device and returns a :class:`PrecisionChoice`: the Trainer
``precision`` to use and the reason, for the run's record:

- a CPU with AMX tiles (Intel Sapphire Rapids and later) or the AVX-512 BF16 instructions (Cooper Lake, Zen 4 and
  later): ``"bf16-mixed"``; any other CPU: ``"32-true"``;
- a CUDA GPU that computes in bf16 natively (compute capability 8.0 and later: A100, H100, RTX 30xx and later):
  ``"bf16-mixed"``; an older CUDA GPU: ``"16-mixed"`` (fp16 autocast with loss scaling).

Nothing here changes a default: the library and the CLI train in whatever ``trainer.precision`` a config gives
(Lightning's default, ``"32-true"``); a pipeline that wants the machine's choice asks for it and writes it into its
config.

The CPU checks are torch's own CPU-feature probes (``torch.cpu._is_amx_tile_supported`` and
``torch.cpu._is_avx512_bf16_supported``, private in torch 2.13; a torch without them counts as no bf16 units, the
safe answer).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import torch

Precision = Literal["bf16-mixed", "16-mixed", "32-true"]
ACCELERATORS = ("auto", "cpu", "gpu", "cuda")

_CPU_BF16_PROBES = {"AMX tiles": "_is_amx_tile_supported", "AVX-512 BF16": "_is_avx512_bf16_supported"}
"""Name of each bf16 matrix unit -> the ``torch.cpu`` function that says whether this CPU has it."""


@dataclass(frozen=True)
class PrecisionChoice:
    """The Trainer ``precision`` for a device, and why (a sentence for the run's record).

    ``device`` is ``"cpu"`` or ``"cuda"``; ``bf16_units`` names what computes bf16 natively on it (empty: nothing).
    """

    precision: Precision
    device: Literal["cpu", "cuda"]
    bf16_units: tuple[str, ...]
    reason: str

    def as_dict(self) -> dict[str, object]:
        """Plain values (``bf16_units`` as a list), for a JSON or YAML record."""
        return {**asdict(self), "bf16_units": list(self.bf16_units)}


def cpu_bf16_units() -> tuple[str, ...]:
    """The bf16 matrix units of this machine's CPU: ``"AMX tiles"``, ``"AVX-512 BF16"``, both, or none."""
    return tuple(name for name, probe in _CPU_BF16_PROBES.items() if getattr(torch.cpu, probe, lambda: False)())


def choose_precision(accelerator: str = "auto") -> PrecisionChoice:
    """The precision for ``accelerator`` (``"cpu"``, ``"gpu"`` / ``"cuda"``: the current CUDA device, or
    ``"auto"``: CUDA when available, else the CPU), see the module docstring. ValueError for another accelerator,
    or for ``"gpu"`` without a CUDA device."""
    if accelerator not in ACCELERATORS:
        raise ValueError(f"accelerator must be one of {ACCELERATORS}, got {accelerator!r}.")
    use_cuda = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    if not use_cuda:
        units = cpu_bf16_units()
        if units:
            return PrecisionChoice("bf16-mixed", "cpu", units, f"CPU with bf16 matrix units ({', '.join(units)})")
        return PrecisionChoice("32-true", "cpu", (), "CPU without bf16 matrix units (no AMX, no AVX-512 BF16): "
                                                     "bf16 would be emulated, slower than fp32")
    if not torch.cuda.is_available():
        raise ValueError(f"accelerator={accelerator!r} needs a CUDA device, and torch sees none; use 'cpu' or 'auto'.")
    name = torch.cuda.get_device_name()
    major, minor = torch.cuda.get_device_capability()
    if torch.cuda.is_bf16_supported(including_emulation=False):
        return PrecisionChoice("bf16-mixed", "cuda", ("tensor cores",),
                               f"CUDA {name} (compute capability {major}.{minor}) computes bf16 natively")
    return PrecisionChoice("16-mixed", "cuda", (), f"CUDA {name} (compute capability {major}.{minor}) has no native "
                                                   "bf16: fp16 autocast with loss scaling")
