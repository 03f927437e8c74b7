from __future__ import annotations

import pytest

from tests.tiny_model import tiny_lm


@pytest.fixture(scope="session")
def lm():  # type: ignore[no-untyped-def]
    return tiny_lm()
