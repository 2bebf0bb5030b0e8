"""The runner: steps are peers (none imports another), and one step asked alone first makes what it needs."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from competition.runner import STEPS
from test_competition_faults import BASELINE_ONLY, run, write_competition

STEP_MODULES = {inspect.getmodule(step.run).__name__ for step in STEPS.values()}


def test_no_step_module_imports_another():
    for module in STEP_MODULES:
        tree = ast.parse(Path(module.replace(".", "/") + ".py").read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        assert not (imported & STEP_MODULES - {module}), module


def test_every_need_is_a_step_that_comes_earlier():
    order = list(STEPS)
    for name, step in STEPS.items():
        assert all(order.index(need) < order.index(name) for need in step.needs), name


def test_a_step_asked_alone_first_makes_what_it_needs_and_nothing_else(tmp_path, capsys):
    data = write_competition(tmp_path / "data")
    output = tmp_path / "run"
    run(data, output, *BASELINE_ONLY, command="submit")
    log = capsys.readouterr().err
    assert log.index("folds: made") < log.index("baseline: wrote") < log.index("submit: wrote")
    assert (output / "decision.json").is_file() and (output / "submission.csv").is_file()
    assert not (output / "report").exists()  # the report is no need of the submission
    # Asked again, the submission's needs are there and current: nothing but the submission is made again.
    run(data, output, *BASELINE_ONLY, command="submit")
    assert capsys.readouterr().err.splitlines()[-1].startswith("submit: wrote")
    # Rules tuned for another metric are not current: decide runs again first.
    run(data, output, *BASELINE_ONLY, "--threshold.metric", "mcc", command="submit")
    log = capsys.readouterr().err
    assert "decision: baseline:" in log and "tuned for mcc" in log
