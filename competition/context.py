"""What every step of ``python -m competition`` works on: the config, the validated competition, the run folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from competition.config import PipelineConfig
from competition.data import Competition
from competition.rundir import RunDir


@dataclass
class Context:
    """The config, the validated competition and the open run folder of one invocation."""

    config: PipelineConfig
    competition: Competition
    run: RunDir

    def path(self, name: str) -> Path:
        return self.run.path / name
