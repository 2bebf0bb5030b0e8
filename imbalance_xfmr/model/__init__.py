"""The Transformer text classifier: a first-principles encoder (:mod:`.encoder`), losses for imbalanced
classes (:mod:`.losses`) and the Lightning module that trains them (:mod:`.classifier`).

``TextClassifier`` is imported on first access, so the encoder and losses load without Lightning.
"""

from .encoder import EncoderConfig, TransformerClassifier
from .losses import LOSS_NAMES, make_loss

__all__ = ["LOSS_NAMES", "EncoderConfig", "TextClassifier", "TransformerClassifier", "make_loss"]


def __getattr__(name: str):
    if name == "TextClassifier":
        from .classifier import TextClassifier

        return TextClassifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
