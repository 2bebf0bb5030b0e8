"""imbalance-xfmr: imbalanced text classification with a first-principles Transformer.

Subpackages (imported on demand, so ``import imbalance_xfmr`` stays cheap):

- :mod:`imbalance_xfmr.metrics`: confusion-matrix and ranking metrics with scikit-learn's and
  imbalanced-learn's semantics, threshold tuning, and streaming metrics for Lightning.
- :mod:`imbalance_xfmr.sampling`: imbalanced-learn-compatible samplers, and in
  :mod:`imbalance_xfmr.sampling.torch_sampler` a per-epoch, DDP-aware resampling sampler for DataLoaders.
- :mod:`imbalance_xfmr.model`: the Transformer encoder, imbalance-aware losses and the LightningModule.
- :mod:`imbalance_xfmr.data`: the subword tokenizer and the text LightningDataModule.
- :mod:`imbalance_xfmr.cli`: the ``imbalance-xfmr`` Lightning CLI.
"""

__version__ = "0.1.0"
