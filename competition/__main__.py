"""Entry point of ``python -m competition``; see :mod:`competition.cli`."""

from competition.cli import main

if __name__ == "__main__":
    main()
