"""Helpers shared by the tests: real servers, kernels, browsers, processes and HTTP, one home each.

Test directories hold only ``conftest.py`` (fixtures) and ``test_*.py``; anything a test module
imports from elsewhere lives here.
"""

from pathlib import Path

#: The repository's root directory.
REPO = Path(__file__).resolve().parents[2]
