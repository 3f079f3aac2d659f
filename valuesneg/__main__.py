"""``python -m valuesneg``: the same as the ``valuesneg`` command, for a checkout with no
console script installed."""

import sys

from valuesneg.cli import main

sys.exit(main())
