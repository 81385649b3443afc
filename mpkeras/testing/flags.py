"""The flag matrix of the conformance kit: several replicas, mixed precision and XLA on every model.

Every recipe advertises ``--strategy mirrored``, ``--mixed-precision`` and ``--jit``
(DESIGN.md section 9), so every registered model must train under each, or
refuse it: the model's ``unsupported_flags()`` names the reason, its fixture
records the same reason, and the recipe runner refuses the flag with it.

Each ``check_*`` takes a registry name, raises ``AssertionError`` naming the model
and what broke, and returns ``None``, or the reason of a declared opt-out.
"""

import keras
import numpy as np
import tensorflow as tf

from mpkeras.export.ranges import input_ranges
from mpkeras.export.savedmodel import serving_function
from mpkeras.models.common import unsupported_flags
from mpkeras.models.gan import TwoOptimizers
from mpkeras.testing.conformance import build
from mpkeras.train import distribute

FLAGS = ("replicas", "mixed_precision", "jit")


def replica_strategy():
    """The recipes' ``MirroredStrategy`` (one per process), which must have two replicas here."""
    strategy = distribute.make_strategy("mirrored")
    if strategy.num_replicas_in_sync != 2:
        raise AssertionError(
            f"The replica check needs 2 replicas, the strategy has {strategy.num_replicas_in_sync}: call "
            "mpkeras.train.distribute.split_cpu(2) before TensorFlow starts (tests/conftest.py does).")
    return strategy


def check_declared_opt_outs(name):
    """The model's ``unsupported_flags()`` and its fixture's ``unsupported`` name the same flags and reasons."""
    model, fx = build(name)
    declared = unsupported_flags(model)
    unknown = sorted(set(declared) - set(FLAGS))
    assert not unknown, f"{name}: unsupported_flags() names unknown flags {unknown}; use {FLAGS}."
    assert declared == fx.unsupported, (
        f"{name}: the model declares unsupported flags {declared}, its fixture {fx.unsupported}; "
        "they must agree (the recipe refuses what the model declares).")


def _compile(model, fx, optimizer, **kwargs):
    """Compiles with ``optimizer()`` for every network (two-player models get one per network), and has ``fit``
    build the compiled metrics and optimizer slots from the fixture's batch first, as the recipe runner does
    (so the step traces, and compiles under XLA, once)."""
    extra = dict(fx.compile_kwargs)
    if isinstance(model, TwoOptimizers):
        extra.update(generator_optimizer=optimizer(), discriminator_optimizer=optimizer())
    if not model.built:
        _build(model, fx.x)
    model.compile(optimizer=optimizer(), **extra, **kwargs)
    distribute.build_from_local_batch(model, (fx.x, fx.y))


def _build(model, x):
    if hasattr(model, "build_from_data"):  # GANs: call() takes z
        model.build_from_data(x)
    else:
        model(x, training=False)


def _batch_size(x):
    return len(tf.nest.flatten(x)[0])


def _opt_out(name, flag):
    """The fixture's reason for not supporting ``flag``, after checking the model refuses with it."""
    model, fx = build(name)
    reason = fx.unsupported.get(flag)
    if reason is not None:
        assert unsupported_flags(model).get(flag) == reason, (
            f"{name}: the fixture opts out of {flag} ({reason!r}) but the model does not declare it.")
    return reason


def _one_sgd_step(name, strategy, duplicate=False):
    """Weights before and after one ``fit`` step with momentum SGD under ``strategy``.

    Momentum SGD has optimizer slots (created under the strategy, as Adam's are) and
    its first update is linear in the gradient, so a gradient scaled by the number of
    replicas shows up (Adam's first step would hide it).
    """
    with strategy.scope():
        model, fx = build(name)
        _build(model, fx.x)
        _compile(model, fx, lambda: keras.optimizers.SGD(fx.learning_rate, momentum=0.9))
    x, y = fx.x, fx.y
    if duplicate:  # the same examples on each replica
        x, y = tf.nest.map_structure(lambda a: None if a is None else np.concatenate([a, a]), (x, y))
    before = [np.array(v.numpy()) for v in model.weights]
    model.fit(x, y, batch_size=_batch_size(x), epochs=1, verbose=0, shuffle=False)
    return model, before


def check_replicas(name):
    """One ``fit`` step on 2 replicas equals one step on one device.

    Replica r of a ``MirroredStrategy`` draws from the same seed state as the single
    device does, so the two replicas get the same examples (the fixture batch, once
    per replica) and then the same random draws: a correct step averages two equal
    gradients, which equals the single-device gradient. A per-replica mean of the loss
    (instead of a mean over the global batch) doubles the update; optimizers created
    inside the replicated step crash. Batch statistics (batch norm) are per replica,
    which is why the replicas see copies rather than halves of one batch.
    """
    reason = _opt_out(name, "replicas")
    if reason is not None:
        return reason
    strategy = replica_strategy()
    single, before = _one_sgd_step(name, tf.distribute.get_strategy(), duplicate=False)
    mirrored, before_m = _one_sgd_step(name, strategy, duplicate=True)
    for v, v_m, b, b_m in zip(single.weights, mirrored.weights, before, before_m):
        np.testing.assert_array_equal(b, b_m, err_msg=f"{name}: {v.path} starts differently under the strategy")
        copies = [np.asarray(c) for c in strategy.experimental_local_results(v_m)]
        for c in copies[1:]:
            np.testing.assert_allclose(c, copies[0], rtol=1e-6, atol=1e-7,
                                       err_msg=f"{name}: the replicas' copies of {v.path} disagree")
        delta, delta_m = np.asarray(v.numpy()) - b, copies[0] - b
        scale = np.abs(delta).max()
        if not np.issubdtype(delta.dtype, np.floating) or scale == 0:
            np.testing.assert_array_equal(delta_m, delta, err_msg=f"{name}: {v.path} after one replicated step")
            continue
        ratio = float(np.sum(delta * delta_m) / np.sum(delta * delta))
        error = np.abs(delta_m - delta).max() / scale
        assert error < 2e-3, (
            f"{name}: one step on 2 replicas changed {v.path} by {ratio:.3f} x the single-device change "
            f"(max error {error:.2g} of the largest change). A ratio near 2 means the loss is a per-replica "
            "mean: reduce per-example losses with mpkeras.models.common.average_loss (global batch).")
    # Different examples on each replica (the fixture batch split in two): the replicas must still hold the
    # same weights after the step. State set from a replica's own examples (a data-dependent initialization,
    # say) would drift apart here, where identical copies of a batch cannot show it.
    split, _ = _one_sgd_step(name, strategy)
    for v in split.weights:
        copies = [np.asarray(c) for c in strategy.experimental_local_results(v)]
        for c in copies[1:]:
            np.testing.assert_allclose(c, copies[0], rtol=1e-6, atol=1e-7, err_msg=(
                f"{name}: after a step on different examples per replica, the replicas' copies of {v.path} "
                "disagree: reduce any statistic of the batch across replicas (ReplicaContext.all_reduce)"))


def check_mixed_precision(name, steps=3):
    """Under ``mixed_float16``: finite losses over a few ``fit`` steps, finite gradients for every trainable
    variable, and serving functions that take and return float32."""
    reason = _opt_out(name, "mixed_precision")
    if reason is not None:
        return reason
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model, fx = build(name)
        _compile(model, fx, lambda: keras.optimizers.Adam(fx.learning_rate))
        history = model.fit(fx.x, fx.y, batch_size=_batch_size(fx.x), epochs=steps, verbose=0, shuffle=False)
        for key, values in history.history.items():
            assert np.all(np.isfinite(np.ravel(values))), f"{name}: {key} = {values} under mixed_float16"
        if getattr(model, "trained_by_gradients", True):
            with tf.GradientTape() as tape:
                y_pred = model(fx.x, training=True)
                loss = model.compute_loss(x=fx.x, y=fx.y, y_pred=y_pred, training=True)
            assert loss.dtype == tf.float32, f"{name}: the loss is {loss.dtype.name} under mixed_float16, not float32"
            for v, g in zip(model.trainable_variables, tape.gradient(loss, model.trainable_variables)):
                assert g is not None, f"{name}: {v.path} gets no gradient under mixed_float16"
                g = tf.convert_to_tensor(g)
                assert np.all(np.isfinite(g.numpy())), f"{name}: {v.path} has a non-finite gradient under mixed_float16"
        endpoints = model.serving_endpoints()
        ranges = input_ranges(model, {endpoint: list(specs) for endpoint, (_, specs) in endpoints.items()})
        for endpoint, (fn, specs) in endpoints.items():
            function = tf.function(serving_function(fn, specs, ranges.get(endpoint)), input_signature=list(specs),
                                   autograph=False)
            outputs = function.get_concrete_function().structured_outputs
            for spec in specs:
                assert spec.dtype != tf.float16, f"{name}: endpoint {endpoint!r} input {spec.name} is float16"
            for key, out in outputs.items():
                assert out.dtype != tf.float16, (
                    f"{name}: endpoint {endpoint!r} returns {key} as float16 after mixed-precision training; "
                    "the exporter must return float32")
    finally:
        keras.config.set_dtype_policy(previous)


def check_jit(name, steps=2):
    """A ``jit_compile=True`` ``fit`` compiles with XLA and gives finite losses."""
    reason = _opt_out(name, "jit")
    if reason is not None:
        return reason
    model, fx = build(name)
    _compile(model, fx, lambda: keras.optimizers.Adam(fx.learning_rate), jit_compile=True)
    assert model.jit_compile, (
        f"{name}: Keras turned jit_compile off (a layer has supports_jit=False), so --jit would silently run "
        "without XLA; declare 'jit' in unsupported_flags() with the reason, or make the layer compile.")
    history = model.fit(fx.x, fx.y, batch_size=_batch_size(fx.x), epochs=steps, verbose=0, shuffle=False)
    for key, values in history.history.items():
        assert np.all(np.isfinite(np.ravel(values))), f"{name}: {key} = {values} with jit_compile=True"
