"""Make the shared reference solvers in ``tests/oracles.py`` importable from every test."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
