"""Fixtures of the zoo tests."""

import pytest

from zoo import reference


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A private reference-data cache directory for one test module's generations."""
    path = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(reference.CACHE_ENV, str(path))
        yield path
