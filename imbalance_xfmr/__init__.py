"""imbalance-xfmr: imbalanced text classification with a first-principles Transformer.

Subpackages (imported on demand, so ``import imbalance_xfmr`` stays cheap):

- :mod:`imbalance_xfmr.metrics`: confusion-matrix and ranking metrics with scikit-learn's and
  imbalanced-learn's semantics, threshold tuning, and streaming metrics for Lightning.
"""

__version__ = "0.1.0"
