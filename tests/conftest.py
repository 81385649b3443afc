"""Fixtures shared by several test modules.

The CPU is split into two logical devices before TensorFlow starts, so that the
conformance kit's replica check (and in-process recipe runs with ``--strategy
mirrored --cpu-devices 2``) can use ``MirroredStrategy`` in this process. Ops
without a strategy still run on the first device.
"""

import os
import re
import subprocess
import sys

import pytest

from mpkeras.train.distribute import split_cpu

split_cpu(2)

ISOLATED = {
    "test_conformance.py": r"(replicas|jit|mixed_precision)\[(realnvp_images|googlenet|resnet34|glow|conditional_glow)\]",
    "test_catalogue.py": r"\[(realnvp_images|resnet34|googlenet|gated_pixelcnn|pixelcnn|wgan_gp|resnet18|vae|beta_vae)\]",
    "test_presets.py": r"real_size.*\[(pixelcnn|gated_pixelcnn|glow|dcgan|wgan_gp|resnet18|unet|wavenet)-",
    "test_realnvp_images.py": r"test_recipe_smoke",
    "test_cnn.py": r"test_parameter_counts_match_the_papers\[.*-(62378344|138357544)\]",  # AlexNet, VGG-16
}
"""Tests run in a process of their own (file name -> regular expression searched in their ids): the ones whose graphs or
weights take the most memory. Keras 3 on TensorFlow 2.21 keeps every traced ``FuncGraph`` of every model a
process fits (a plain ``Sequential`` fitted in a loop keeps 26 more per fit; ``clear_session`` and
``gc.collect`` free none of them, keras-team/tf-keras#286), so a test worker grew by about 1 GB a minute
and the kernel's OOM killer stopped it after 25 minutes. These tests held half of that growth."""

_CHILD = "MPKERAS_ISOLATED_TEST"


def pytest_collection_modifyitems(items):
    for item in items:
        pattern = ISOLATED.get(item.path.name)
        if pattern and re.search(pattern, item.nodeid.split("::", 1)[1]):
            item.add_marker("isolated")


def pytest_configure(config):
    config.addinivalue_line("markers", "isolated: runs in a new Python process (see tests/conftest.py ISOLATED)")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Runs an ``isolated`` test as ``pytest NODEID`` in a new process: its memory goes back when it exits."""
    if pyfuncitem.get_closest_marker("isolated") is None or os.environ.get(_CHILD):
        return None
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
           pyfuncitem.nodeid]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=pyfuncitem.config.rootpath,
                          env={**os.environ, _CHILD: "1"})
    passed = proc.returncode == 0 and " passed" in proc.stdout
    assert passed, f"{pyfuncitem.nodeid} failed in its own process:\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}"
    return True


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
