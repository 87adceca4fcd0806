"""Fixtures for the root tests with real Unix users (tests/support/unix_users.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.unix_users import UnixUser, unix_users


@pytest.fixture(scope="module")
def users() -> Iterator[list[UnixUser]]:
    """Two throwaway users for a module's tests; they and what they ran are gone after it."""
    with unix_users(2) as made:
        yield made
