"""``python -m emd``: the ``emd-compute`` command line tool (see :mod:`emd.cli`)."""

import sys

from emd.cli import main

if __name__ == "__main__":
    sys.exit(main())
