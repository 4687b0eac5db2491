"""`python -m deid.cli`."""

import sys

try:
    from . import main
except KeyboardInterrupt:  # Ctrl-C while deid is still loading: nothing was done yet
    sys.exit(3)

main()
