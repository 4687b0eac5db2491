"""`python -m deid.cli`."""

from . import main

main()
