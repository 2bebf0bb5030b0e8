"""The report's figures, drawn headless with matplotlib and returned as PNG bytes.

Figures are built on :class:`matplotlib.figure.Figure` directly (the Agg renderer, no pyplot and no display, so
nothing global is touched and nothing leaks between calls), under matplotlib's default style whatever the user's
matplotlibrc says, with a fixed size and dpi and no ``Software`` entry in the PNG metadata: the same numbers
give the same bytes on the same matplotlib version.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib.style
import numpy as np
from matplotlib.figure import Figure

DPI = 100
SQUARE = (5.2, 4.6)
MAX_TICK_LABEL = 14  # class names longer than this are cut in heatmap tick labels
MAX_PANEL_INCHES = 10.0  # a heatmap panel grows with the classes up to this size
MAX_ANNOTATED_CLASSES = 20  # beyond this, cell values are not written (unreadable); the JSON has them


def _figure(size: tuple[float, float], ncols: int = 1) -> tuple[Figure, np.ndarray]:
    figure = Figure(figsize=size, dpi=DPI, layout="constrained")
    return figure, np.atleast_1d(figure.subplots(1, ncols))


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _styled(draw):
    """Draw under matplotlib's default style, so a user's matplotlibrc cannot change the bytes, and with mathtext
    off: a label such as ``$5 or $10`` is text, not an unbalanced formula that fails the report."""
    def wrapper(*args, **kwargs) -> bytes:
        with matplotlib.style.context(["default", {"text.parse_math": False}]):
            return _png(draw(*args, **kwargs))
    wrapper.__doc__, wrapper.__name__ = draw.__doc__, draw.__name__
    return wrapper


def _short(name: str) -> str:
    return name if len(name) <= MAX_TICK_LABEL else name[: MAX_TICK_LABEL - 1] + "…"


@_styled
def length_histogram(lengths: Mapping[str, np.ndarray], unit: str = "words") -> Figure:
    """Overlaid histograms of text lengths, one per split (``{"train": (n,) ints, "test": (m,) ints}``), as
    shares of each split, on shared bins clipped at the 99th percentile so a few huge texts do not flatten them."""
    figure, (axes,) = _figure((7.0, 3.4))
    everything = np.concatenate([np.asarray(v) for v in lengths.values()])
    top = max(int(np.percentile(everything, 99)), 1)
    bins = np.linspace(0, top + 1, min(top + 2, 41))
    for name, values in lengths.items():
        values = np.minimum(np.asarray(values), top)
        axes.hist(values, bins=bins, weights=np.full(len(values), 1 / max(len(values), 1)), alpha=0.55,
                  label=f"{name} (n={len(values)})")
    axes.set_xlabel(f"text length ({unit}; the last bin holds everything above the 99th percentile, {top})")
    axes.set_ylabel("share of texts")
    axes.legend()
    return figure


@_styled
def confusion_heatmaps(matrix: np.ndarray, labels: Sequence[str], title: str) -> Figure:
    """Counts and row-normalised (recall per true class) heatmaps of a (C, C) confusion matrix, side by side;
    rows are true classes, columns predicted ones."""
    matrix = np.asarray(matrix)
    row_sums = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, row_sums, out=np.zeros(matrix.shape), where=row_sums != 0)
    size = min(max(3.6, 0.55 * len(labels) + 2.2), MAX_PANEL_INCHES)
    figure, panels = _figure((2 * size + 0.6, size), ncols=2)
    ticks = np.arange(len(labels))
    names = [_short(str(label)) for label in labels]
    for axes, values, kind in ((panels[0], matrix, "counts"), (panels[1], normalised, "row-normalised")):
        image = axes.imshow(values, cmap="Blues", vmin=0, vmax=values.max() if kind == "counts" else 1)
        figure.colorbar(image, ax=axes, shrink=0.8)
        crowded = len(labels) > 3
        axes.set_xticks(ticks, names, rotation=45 if crowded else 0, ha="right" if crowded else "center")
        axes.set_yticks(ticks, names)
        axes.set_xlabel("predicted")
        axes.set_ylabel("true")
        axes.set_title(f"{title}: {kind}", fontsize=10)
        threshold = values.max() / 2 if values.max() > 0 else 1
        for (i, j), value in np.ndenumerate(values if len(labels) <= MAX_ANNOTATED_CLASSES else np.empty((0, 0))):
            text = f"{int(value)}" if kind == "counts" else f"{value:.2f}"
            axes.text(j, i, text, ha="center", va="center", fontsize=8,
                      color="white" if value > threshold else "black")
    return figure


@_styled
def precision_recall_curves(curves: Mapping[str, tuple[np.ndarray, np.ndarray, float]], title: str,
                            prevalence: Mapping[str, float] | float) -> Figure:
    """Precision against recall: ``{name: (precision, recall, average_precision)}``, one line each.

    ``prevalence`` is the positive share (a chance classifier's precision), drawn dashed; a mapping gives one
    per curve (one-vs-rest curves of several classes).
    """
    figure, (axes,) = _figure(SQUARE)
    for index, (name, (precision, recall, ap)) in enumerate(curves.items()):
        line, = axes.step(recall, precision, where="post", label=f"{name} (AP {ap:.3f})")
        chance = prevalence[name] if isinstance(prevalence, Mapping) else prevalence
        if isinstance(prevalence, Mapping) or index == 0:
            axes.axhline(chance, color=line.get_color() if isinstance(prevalence, Mapping) else "grey",
                         linestyle=":", linewidth=0.8)
    axes.set(xlim=(0, 1.01), ylim=(0, 1.02), xlabel="recall", ylabel="precision", title=title)
    axes.legend(loc="lower left", fontsize=8)
    return figure


@_styled
def roc_curves(curves: Mapping[str, tuple[np.ndarray, np.ndarray, float]], title: str) -> Figure:
    """True against false positive rate: ``{name: (fpr, tpr, roc_auc)}``, one line each, and the diagonal."""
    figure, (axes,) = _figure(SQUARE)
    for name, (fpr, tpr, auc) in curves.items():
        axes.plot(fpr, tpr, label=f"{name} (AUC {auc:.3f})")
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=0.8)
    axes.set(xlim=(-0.01, 1), ylim=(0, 1.01), xlabel="false positive rate", ylabel="true positive rate", title=title)
    axes.legend(loc="lower right", fontsize=8)
    return figure


@_styled
def threshold_curves(thresholds: np.ndarray, curves: Mapping[str, np.ndarray], chosen: float, chosen_label: str,
                     title: str, xlabel: str) -> Figure:
    """Metrics against the decision threshold (``curves[name]`` has the shape of ``thresholds``), each curve's
    best point dotted, and the threshold in use as a vertical line."""
    figure, (axes,) = _figure((7.0, 4.0))
    for name, values in curves.items():
        line, = axes.plot(thresholds, values, label=name, linewidth=1.2)
        best = int(np.argmax(values))
        axes.plot(thresholds[best], values[best], "o", color=line.get_color(), markersize=4)
    axes.axvline(chosen, color="black", linestyle="--", linewidth=1, label=chosen_label)
    axes.set(xlim=(0, 1), xlabel=xlabel, ylabel="metric", title=title)
    axes.legend(loc="lower center", fontsize=8, ncols=2)
    return figure


@_styled
def loss_curves(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], title: str, x_label: str = "optimizer step",
                y_label: str = "masked-LM loss") -> Figure:
    """Loss against the step, one line per ``{name: (steps (n,), losses (n,))}``."""
    figure, (axes,) = _figure((6.4, 3.6))
    for name, (steps, losses) in curves.items():
        axes.plot(steps, losses, marker="o", markersize=3, label=name)
    axes.set(xlabel=x_label, ylabel=y_label, title=title)
    axes.grid(alpha=0.3)
    axes.legend()
    return figure
