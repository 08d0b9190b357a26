"""``python -m deepbalance``: the same command line as ``deepbalance``."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
