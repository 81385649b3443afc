"""Fixtures shared by several test modules.

The CPU is split into two logical devices before TensorFlow starts, so that the
conformance kit's replica check (and in-process recipe runs with ``--strategy
mirrored --cpu-devices 2``) can use ``MirroredStrategy`` in this process. Ops
without a strategy still run on the first device.
"""

import pytest

from mpkeras.train.distribute import split_cpu

split_cpu(2)


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
