"""The pipeline's base error: every mistake a user can fix (data, config, run folder, missing step outputs).

``python -m competition`` prints any :class:`PipelineError` as ``error: <message>`` and exits with status 2; other
exceptions are bugs and keep their traceback. Each module subclasses it with its own name (``CompetitionDataError``,
``DecisionError``...) so that tests and callers can tell the failures apart.
"""


class PipelineError(ValueError):
    """Something the user must change; the message says what was wrong and what to do."""
