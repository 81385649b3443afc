"""tf.distribute strategies for the recipes."""

import json
import os

import tensorflow as tf

from mpkeras.errors import UsageError

STRATEGIES = ("default", "mirrored", "multi_worker")


def split_cpu(num_devices):
    """Splits the first CPU into ``num_devices`` logical devices.

    Must run before TensorFlow initializes its runtime (before the first op),
    which is why recipes do it first thing. Lets ``MirroredStrategy`` be tested
    and used on a machine without GPUs.
    """
    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * num_devices)


def make_strategy(name):
    """Returns the ``tf.distribute.Strategy`` named ``name``.

    Args:
        name: ``default`` (one device), ``mirrored`` (all local GPUs, or all
            logical CPUs when there is no GPU) or ``multi_worker``
            (``MultiWorkerMirroredStrategy``, cluster read from ``TF_CONFIG``).
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if tf.config.list_logical_devices("GPU"):
            return tf.distribute.MirroredStrategy()
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise UsageError(
                "--strategy multi_worker needs the TF_CONFIG environment variable describing the cluster, e.g. "
                + json.dumps({"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}})
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"Unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}.")


def is_chief():
    """True on the one process that writes files.

    That is the only process without ``TF_CONFIG``; else the ``chief`` task if the
    cluster has one, else worker 0 (TensorFlow's convention).
    """
    config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    if not config:
        return True
    task = config.get("task", {})
    if "chief" in config.get("cluster", {}):
        return task.get("type") == "chief"
    return task.get("type") == "worker" and int(task.get("index", 0)) == 0
