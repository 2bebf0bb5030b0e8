"""The Transformer text classifier: a first-principles encoder (:mod:`.encoder`), losses for imbalanced
classes (:mod:`.losses`), the Lightning module that trains them (:mod:`.classifier`) and the one that pretrains the
encoder as a masked language model (:mod:`.pretraining`); :func:`from_pretrained` loads a pretrained BERT-family
checkpoint folder into the encoder (:mod:`.hf_checkpoint`).

``TextClassifier`` and ``MaskedLanguageModel`` are imported on first access, so the encoder and losses load without
Lightning.
"""

from .encoder import EncoderConfig, TransformerClassifier
from .hf_checkpoint import CheckpointError, CheckpointNotFoundError, from_pretrained, read_hf_checkpoint
from .losses import LOSS_NAMES, make_loss

__all__ = ["LOSS_NAMES", "CheckpointError", "CheckpointNotFoundError", "EncoderConfig", "MaskedLanguageModel",
           "TextClassifier", "TransformerClassifier", "from_pretrained", "make_loss", "read_hf_checkpoint"]


def __getattr__(name: str):
    if name == "TextClassifier":
        from .classifier import TextClassifier

        return TextClassifier
    if name == "MaskedLanguageModel":
        from .pretraining import MaskedLanguageModel

        return MaskedLanguageModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
