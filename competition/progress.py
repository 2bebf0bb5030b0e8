"""The run's progress bar over its trainings, and log lines that print around it.

One bar (tqdm, on stderr) counts a step's trainings as they finish; it shows only on a terminal, so logs, CI and
tests see the log lines alone. :func:`echo` prints a line above an active bar instead of through it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm


@contextmanager
def progress_bar(total: int, what: str) -> Iterator[tqdm]:
    """A bar counting ``total`` trainings of ``what`` ("fold models"); disabled where stderr is no terminal."""
    with tqdm(total=total, desc=what, unit="model", file=sys.stderr, disable=None, leave=False,
              dynamic_ncols=True) as bar:
        yield bar


def echo(message: str) -> None:
    """Print ``message`` to stderr, above the progress bar when one is active."""
    tqdm.write(message, file=sys.stderr)
