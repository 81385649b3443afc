"""Fixtures shared by several test modules."""

import pytest


@pytest.fixture(scope="session")
def mnist5k_dir(tmp_path_factory):
    """A TFDS data_dir holding mnist5k, built offline once per test process, for the recipes' smoke runs."""
    from mpkeras import data

    path = str(tmp_path_factory.mktemp("tfds_mnist5k"))
    data.info("mnist5k", data_dir=path)
    return path


@pytest.fixture(scope="session")
def scenes_dir(tmp_path_factory):
    """A TFDS data_dir holding the embedded scenes views, built once per test process."""
    from mpkeras import data

    path = str(tmp_path_factory.mktemp("tfds_scenes"))
    data.info("scenes", data_dir=path)
    return path
