"""``python -m competition compare RUN RUN ... [--output DIR]``: several runs side by side.

Each run folder must hold a report (``report/report.json``, written by the ``report`` step). The comparison has
one row per run and model with the report's out-of-fold scores, and one column per config key whose value
differs between the runs (the resampling or the loss, say), so a sweep reads as a table. Keys of the
Transformer's LightningCLI YAML (``transformer.lightning_config``) count as config keys too, under
``lightning.``, when that file can still be read. The best value of each score is in bold.

The Markdown table is returned (the CLI prints it); with an output folder, ``compare.md``, ``compare.html`` and
``compare.json`` are written there too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from competition.document import Block, Heading, Paragraph, Table, literal, to_html, to_markdown
from competition.errors import PipelineError
from competition.layout import MODELS, PROJECT_ROOT
from competition.run_folder import REPORT_METRICS, flatten, is_run_folder, read_report_numbers
from imbalance_xfmr.data.io import write_json, write_text

IGNORED_KEYS = ("output",)  # differs between any two runs and says nothing about them


class CompareError(PipelineError):
    """A run folder has no readable report, or the output folder cannot take the comparison."""


def _lightning_keys(config: Mapping[str, Any]) -> dict[str, Any]:
    """The flattened LightningCLI YAML of the run's fold models, if its file is still there (relative paths are
    tried from the current folder, then from the project root)."""
    path = (config.get("transformer") or {}).get("lightning_config")
    if not path or not (config.get("transformer") or {}).get("enabled", True):
        return {}
    for candidate in (Path(path), PROJECT_ROOT / path):
        if candidate.is_file():
            return flatten(yaml.safe_load(candidate.read_text(encoding="utf-8")) or {}, "lightning.")
    return {}


def load_run(run_dir: str | Path) -> dict[str, Any]:
    """A run's ``report.json``, with the error a user can act on when it is missing or unreadable."""
    try:
        report = read_report_numbers(run_dir)
    except ValueError as err:
        raise CompareError(f"{run_dir}'s report is not valid JSON ({err}); re-run the report step on it") from err
    if report is None:
        hint = ("it is not a run folder" if not is_run_folder(run_dir)
                else f"run `python -m competition report --config <its config> --output {run_dir}` first")
        raise CompareError(f"{run_dir} has no report: {hint}")
    if not isinstance(report, dict) or not {"run", "models"} <= set(report):
        raise CompareError(f"{run_dir}'s report was not written by this version (no 'run' or 'models'); re-run the "
                           "report step on it")
    return report


def _labels(run_dirs: Sequence[str | Path]) -> list[str]:
    """Folder names, or the paths as given where two folders share a name."""
    names = [Path(run).resolve().name for run in run_dirs]
    return [name if names.count(name) == 1 else str(run) for name, run in zip(names, run_dirs)]


def _show(value: Any) -> str:
    return "–" if value is None else literal(json.dumps(value) if isinstance(value, (list, dict, bool)) else value)


def compare(run_dirs: Sequence[str | Path]) -> tuple[list[Block], dict[str, Any]]:
    """The comparison of ``run_dirs`` as document blocks and as JSON-ready numbers."""
    reports = [load_run(run) for run in run_dirs]
    labels = _labels(run_dirs)
    configs = [{**flatten(r["run"]["config"] or {}), **_lightning_keys(r["run"]["config"] or {})} for r in reports]
    keys = sorted({key for config in configs for key in config} - set(IGNORED_KEYS))
    differing = [key for key in keys if len({json.dumps(c.get(key), sort_keys=True) for c in configs}) > 1]
    rows = [{"run": label, "model": model, "decision_rule": e["decision"]["text"],
             **{key: config.get(key) for key in differing}, **{m: e["overall"][m] for m in REPORT_METRICS}}
            for label, report, config in zip(labels, reports, configs)
            for model, e in sorted(report["models"].items(), key=lambda item: MODELS.index(item[0]))]
    best = {m: max((row[m] for row in rows if row[m] is not None), default=None) for m in REPORT_METRICS}

    def cell(row: dict[str, Any], metric: str) -> str:
        value = row[metric]
        text = "–" if value is None else f"{value:.4f}"
        return f"**{text}**" if value is not None and value == best[metric] and len(rows) > 1 else text

    header = ["run", "model", *map(literal, differing), *REPORT_METRICS.values(), "decision rule"]
    table = Table(header, [[literal(row["run"]), row["model"], *(_show(row[k]) for k in differing),
                            *(cell(row, m) for m in REPORT_METRICS), literal(row["decision_rule"])] for row in rows],
                  numeric=[False, False, *([False] * len(differing)), *([True] * len(REPORT_METRICS)), False])
    winner = max(rows, key=lambda row: row["macro_f1"])
    blocks: list[Block] = [
        Heading("Runs compared", 1),
        Paragraph(f"Best out-of-fold macro-F1: **{literal(winner['run'])} / {winner['model']}**, {winner['macro_f1']:.4f} "
                  f"({len(rows)} models in {len(reports)} runs). Bold: the best value of each score."),
    ]
    data_hashes = {json.dumps(r["run"].get("data"), sort_keys=True) for r in reports}
    if len(data_hashes) > 1:
        blocks.append(Paragraph("**These runs use different data files: their scores are not comparable.**"))
    blocks.append(table)
    if not differing:
        blocks.append(Paragraph("The runs' configs do not differ (besides `output`)."))
    numbers = {"runs": [{"run": label, "path": str(run)} for label, run in zip(labels, run_dirs)],
               "differing_keys": differing, "rows": rows,
               "best": {"run": winner["run"], "model": winner["model"], "macro_f1": winner["macro_f1"]}}
    return blocks, numbers


def write_comparison(run_dirs: Sequence[str | Path], output: str | Path | None = None) -> str:
    """Compare ``run_dirs``; with ``output``, write ``compare.md``, ``compare.html`` and ``compare.json`` there.
    Returns the Markdown. An output folder that is a run folder is refused (nothing is written into a run)."""
    blocks, numbers = compare(run_dirs)
    markdown = to_markdown(blocks)
    if output is not None:
        folder = Path(output)
        if is_run_folder(folder):
            raise CompareError(f"{folder} is a run folder; choose another --output for the comparison")
        folder.mkdir(parents=True, exist_ok=True)
        write_text(folder / "compare.md", markdown)
        write_text(folder / "compare.html", to_html(blocks, "Runs compared"))
        write_json(folder / "compare.json", numbers)
    return markdown
