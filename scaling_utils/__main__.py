"""``python -m scaling_utils``: the ``scaling-book`` command line (see :mod:`scaling_utils.cli`)."""

import sys

from scaling_utils.cli import main

sys.exit(main())
