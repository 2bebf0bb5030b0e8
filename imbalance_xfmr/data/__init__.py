"""Text data for the Transformer classifier: subword tokenizer, padded batches, the LightningDataModule.

- :class:`SubwordTokenizer`: WordPiece or BPE (`tokenizers`), fitted on training texts, saved as one JSON file.
- :class:`PretrainedTokenizer`: a pretrained checkpoint folder's own tokenizer, with the same interface.
- :class:`PaddedTextDataset`: dynamically padded batches over ragged token ids.
- :class:`TextDataModule`: CSV/Parquet in, checked, split, tokenized, resampled batches out.
- :class:`PretrainDataModule`: unlabelled texts for masked-language-model pretraining (``imbalance-xfmr pretrain``).
- :class:`ProbabilityWriter`: writes ``predict`` probabilities to a CSV (id + one column per class).
"""

from .collate import PaddedTextDataset
from .datamodule import TextDataModule
from .prediction_writer import ProbabilityWriter
from .pretrain_datamodule import PretrainDataModule
from .pretrained_tokenizer import PretrainedTokenizer
from .tokenizer import EncodedTexts, SubwordTokenizer

__all__ = [
    "EncodedTexts",
    "PaddedTextDataset",
    "PretrainDataModule",
    "PretrainedTokenizer",
    "ProbabilityWriter",
    "SubwordTokenizer",
    "TextDataModule",
]
