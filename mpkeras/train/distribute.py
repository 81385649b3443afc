"""tf.distribute strategies for the recipes."""

import functools
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
    current = tf.config.get_logical_device_configuration(cpus[0])
    if current is not None and len(current) == num_devices:
        return  # already split so (a test session, or a second run in one process)
    try:
        tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * num_devices)
    except RuntimeError:
        raise RuntimeError(
            f"--cpu-devices {num_devices}: TensorFlow has already started with "
            f"{len(tf.config.list_logical_devices('CPU'))} CPU device(s) in this process, and logical devices can "
            "only be set before it starts. Run the recipe in a new process.") from None


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
        gpus = tf.config.list_logical_devices("GPU")
        return _mirrored(tuple(d.name for d in gpus or tf.config.list_logical_devices("CPU")))
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise UsageError(
                "--strategy multi_worker needs the TF_CONFIG environment variable describing the cluster, e.g. "
                + json.dumps({"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}})
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"Unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}.")


def build_from_local_batch(model, batch):
    """Makes ``model.fit`` build its compiled loss, metrics and optimizer from ``batch``.

    Without a strategy, Keras 3 defers that build to the first trace of ``train_step``; the
    variables it creates there make ``tf.function`` trace the step a second time, which for a
    deep network costs as much as the first. Under a strategy, Keras 3's ``fit`` first builds the
    model symbolically from one *distributed* input batch that it all-reduces with a MEAN
    (``Trainer._maybe_symbolic_build``): integer inputs (character ids, labels) come back as floats, which models that read ids refuse,
    and under ``MultiWorkerMirroredStrategy`` the reduction itself fails
    ("Attempt to convert a value (PerReplica...)", keras-team/keras#20585). Building from a local
    batch of the right shapes and dtypes (zeros do) changes nothing else.

    Args:
        model: a compiled ``keras.Model`` created under the strategy's scope (or none).
        batch: one local batch, ``x`` or ``(x, y)``, as arrays or tensors.
    """
    def symbolic_build(iterator=None, data_batch=None):
        del iterator, data_batch
        with model.distribute_strategy.scope():
            model._symbolic_build(data_batch=batch)  # pylint: disable=protected-access

    model._maybe_symbolic_build = symbolic_build  # pylint: disable=protected-access


@functools.cache
def _mirrored(devices):
    # One strategy per device set and process: several MirroredStrategy instances in one process can leave
    # their collective ops waiting on each other ("CollectiveReduceV2 ... previous operation"), which a
    # second recipe run in a notebook or a test process would hit.
    return tf.distribute.MirroredStrategy(devices=list(devices))


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
