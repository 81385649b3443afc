"""The conformance checks every registered model passes (DESIGN.md section 5).

Each ``check_*`` function takes a registry name, raises ``AssertionError``
with a message naming the model and the broken contract, and returns nothing.
"""

import inspect
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from mpkeras.registry import get_model, list_models
from mpkeras.testing.fixtures import FIXTURES
from mpkeras.train import distribute


def get_fixture(name):
    if name not in FIXTURES:
        raise AssertionError(f"Model {name!r} has no fixture: add one to mpkeras/testing/fixtures.py.")
    return FIXTURES[name]()


def build(name, seed=0):
    """A fresh model of ``name`` built with its fixture's kwargs, plus the fixture."""
    keras.utils.set_random_seed(seed)
    fx = get_fixture(name)
    return get_model(name)(**fx.kwargs), fx


def _shapes(outputs):
    if isinstance(outputs, dict):
        return {k: tuple(v.shape) for k, v in outputs.items()}
    return tuple(outputs.shape)


def _dtypes(outputs):
    if isinstance(outputs, dict):
        return {k: keras.backend.standardize_dtype(v.dtype) for k, v in outputs.items()}
    return keras.backend.standardize_dtype(outputs.dtype)


def _numpy(outputs):
    return {k: np.asarray(v) for k, v in outputs.items()} if isinstance(outputs, dict) else np.asarray(outputs)


def check_missing_fixtures():
    missing = sorted(set(list_models()) - set(FIXTURES))
    assert not missing, f"Registered models without a conformance fixture: {missing}"


def check_contract(name):
    """Docstring sections, serializable registration, constructor args kept as attributes and in get_config."""
    cls = get_model(name)
    doc = inspect.getdoc(cls) or ""
    for section in ("Args:", "Example:", "Reference:"):
        assert section in doc, f"{name}: the class docstring has no {section!r} section."
    assert keras.saving.get_registered_object(f"mpkeras>{cls.__name__}") is cls, (
        f"{name}: decorate the class with @keras.saving.register_keras_serializable(package='mpkeras')."
    )
    model, fx = build(name)
    config = model.get_config()
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name == "self" or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        assert hasattr(model, p.name), f"{name}: constructor argument {p.name!r} is not kept as an attribute."
        assert p.name in config, f"{name}: constructor argument {p.name!r} is missing from get_config()."
    assert callable(getattr(model, "serving_endpoints", None)), f"{name}: no serving_endpoints() method."


def _symbolic_inputs(x):
    """``keras.Input``s with the fixture's per-example shapes and dtypes (a dict of them for dict inputs)."""
    if isinstance(x, dict):
        return {k: _symbolic_inputs(v) for k, v in x.items()}
    return keras.Input(shape=x.shape[1:], batch_size=None, dtype=x.dtype)


def check_shapes_and_gradients(name):
    model, fx = build(name)
    eager = model(fx.x, training=False)
    assert _shapes(eager) == fx.output_shapes, f"{name}: eager outputs {_shapes(eager)} != declared {fx.output_shapes}"
    symbolic = model(_symbolic_inputs(fx.x), training=False)
    expected = fx.output_shapes
    if isinstance(expected, dict):
        expected = {k: (None, *v[1:]) for k, v in expected.items()}
    else:
        expected = (None, *expected[1:])
    assert _shapes(symbolic) == expected, f"{name}: symbolic outputs {_shapes(symbolic)} != {expected}"
    assert _dtypes(symbolic) == _dtypes(eager), f"{name}: symbolic dtypes {_dtypes(symbolic)} != eager {_dtypes(eager)}"

    if not getattr(model, "trained_by_gradients", True):
        # e.g. the perceptron: its own update rule in train_step; nothing for a tape to see.
        assert not model.trainable_variables, (
            f"{name}: trained_by_gradients=False, yet it has trainable variables an optimizer would touch."
        )
        return
    model.compile(optimizer="adam", **fx.compile_kwargs)
    with tf.GradientTape() as tape:
        y_pred = model(fx.x, training=True)
        loss = model.compute_loss(x=fx.x, y=fx.y, y_pred=y_pred, training=True)
    grads = tape.gradient(loss, model.trainable_variables)
    assert model.trainable_variables, f"{name}: no trainable variables."
    for v, g in zip(model.trainable_variables, grads):
        assert g is not None, f"{name}: variable {v.path} gets no gradient from the loss."
        g = tf.convert_to_tensor(g)  # embeddings get IndexedSlices
        assert np.all(np.isfinite(g.numpy())), f"{name}: variable {v.path} has a non-finite gradient."


def check_config_roundtrip(name):
    model, _ = build(name)
    config = model.get_config()
    clone = type(model).from_config(config)
    assert clone.get_config() == config, f"{name}: from_config(get_config()) changes the config."


def check_keras_roundtrip(name, tmp_dir=None):
    model, fx = build(name)
    before = _numpy(model(fx.x, training=False))
    with tempfile.TemporaryDirectory(dir=tmp_dir) as d:
        path = os.path.join(d, f"{name}.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model), f"{name}: .keras reload gives {type(loaded)}"
    after = _numpy(loaded(fx.x, training=False))
    tree = before if isinstance(before, dict) else {"output": before}
    tree_after = after if isinstance(after, dict) else {"output": after}
    for k in tree:
        np.testing.assert_allclose(tree_after[k], tree[k], rtol=1e-5, atol=1e-6, err_msg=f"{name}: output {k!r} after .keras reload")


def repeated_batch(x, y, steps):
    """A dataset of the full batch ``(x, y)`` (or ``x`` when y is None) ``steps`` times: ``fit`` on it takes the
    same steps as ``steps`` epochs of one full batch, without Keras's per-epoch cost (iterator, callbacks)."""
    def standard(a):  # as Keras's array adapter does: floating arrays to floatx
        a = np.asarray(a)
        return a.astype(keras.backend.floatx()) if np.issubdtype(a.dtype, np.floating) else a

    batch = tf.nest.map_structure(standard, x if y is None else (x, y))
    return tf.data.Dataset.from_tensors(batch).repeat(steps)


def check_learns(name):
    model, fx = build(name)
    model.compile(optimizer=keras.optimizers.Adam(fx.learning_rate), **fx.compile_kwargs)
    distribute.build_from_local_batch(model, (fx.x, fx.y))  # as the recipe runner does: one trace per step
    first = model.evaluate(fx.x, fx.y, verbose=0, return_dict=True)["loss"]
    model.fit(repeated_batch(fx.x, fx.y, fx.learn_steps), epochs=1, verbose=0, shuffle=False)
    last = model.evaluate(fx.x, fx.y, verbose=0, return_dict=True)["loss"]
    assert np.isfinite(last), f"{name}: loss became {last} after {fx.learn_steps} steps."
    assert last < fx.max_loss_ratio * first if first > 0 else last < first, (
        f"{name}: loss went from {first:.4f} to {last:.4f} in {fx.learn_steps} steps; "
        f"expected below {fx.max_loss_ratio} x the first."
    )


def export_all(base_dir, names=None):
    """Exports every model (tiny fixture) under ``base_dir``; returns {name: SavedModel path}."""
    from mpkeras.export import export_model

    paths = {}
    for name in names or list_models():
        model, fx = build(name)
        model(fx.x, training=False)  # build
        paths[name] = export_model(model, name, base_dir=base_dir, model_card={"fixture": True})
    return paths


def check_savedmodels(base_dir, names=None):
    """Exports all models and reloads them in ONE fresh subprocess without mpkeras.

    The exporter stores each endpoint's in-process outputs next to the
    SavedModel; the subprocess runs every signature and compares.
    """
    from mpkeras.export import verify_savedmodel

    paths = export_all(base_dir, names)
    reports = verify_savedmodel(list(paths.values()))
    return paths, reports
