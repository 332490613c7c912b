"""Steward's end-to-end tests: the real binary, real workers, real PostgreSQL.

A package so that this directory's conftest is imported as `functional.conftest` and does not
replace worker/tests' top-level `conftest` module (whose tests import from it) when both run in
one pytest session, as scripts/test.sh does. The directory itself goes on sys.path so the tests
import their helpers as `steward_harness`.
"""

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
