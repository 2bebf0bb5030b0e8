"""Entry point of ``python -m competition``; see :mod:`competition.runner`."""

from competition.runner import main

if __name__ == "__main__":
    main()
