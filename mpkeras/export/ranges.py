"""Value ranges of the integer inputs of served signatures, checked inside the graph.

A served ``sample(num_samples=0, ...)`` would otherwise return an empty or NaN
result without a word, and ``num_samples=-3`` would fail deep inside a random op.
So every integer input of every exported endpoint has a declared range, and the
exporter's wrapper (:func:`mpkeras.export.savedmodel._with_shape_checks`) refuses a
value outside it with ``InvalidArgumentError: <name> must be >= 1, got 0``.

The rule, applied to each integer ``tf.TensorSpec`` by its name and shape:

* an input named ``seed`` (or ``*_seed``) is a stateless RNG seed: any value;
* an integer scalar is a count (``num_samples``, ``length``, ``num_steps``): ``>= 1``;
* any other integer input (class ids, token ids) has no default: the model declares it.

A model declares the exceptions with an optional hook::

    def serving_ranges(self):
        return {"sample": {"labels": (0, self.num_classes - 1)},       # inclusive bounds
                "complete": {"num_known": (0, self.num_inputs)}}       # 0 allowed here

``(low, high)`` are inclusive; ``None`` leaves a side open, and ``None`` instead of a
pair leaves the input unconstrained.  Ranges are recorded in the model card under
``input_ranges`` (``{endpoint: {input: [low, high]}}``, with every integer input
listed, seeds as ``[null, null]``), where the standalone verifier reads them.
"""

import numbers

import tensorflow as tf

COUNT = (1, None)


def is_seed(spec):
    """Whether an integer ``spec`` is a stateless RNG seed (named ``seed`` or ``*_seed``)."""
    name = (spec.name or "").lower()
    return name == "seed" or name.endswith("_seed")


def default_range(spec):
    """The rule's range for one integer spec: ``(None, None)`` for seeds, ``(1, None)`` for scalars, else None."""
    if is_seed(spec):
        return (None, None)
    if spec.shape.rank == 0:
        return COUNT
    return None


def describe_range(low, high):
    """``">= 1"``, ``"<= 9"``, ``"in [0, 9]"`` or ``"any value"``."""
    if low is not None and high is not None:
        return f"in [{low}, {high}]"
    if low is not None:
        return f">= {low}"
    if high is not None:
        return f"<= {high}"
    return "any value"


def _checked_bound(endpoint, name, value):
    if value is None:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)  # NumPy ints too; the model card needs plain ints
    raise ValueError(f"serving_ranges()['{endpoint}']['{name}']: bounds must be ints or None, got {value!r}.")


def input_ranges(model, specs):
    """``{endpoint: {input: (low, high)}}`` for every integer input of ``specs`` (``{endpoint: [TensorSpec]}``).

    Takes ``model.serving_ranges()`` where given and :func:`default_range` elsewhere.

    Raises:
        ValueError: the hook names an unknown endpoint or input, a non-integer input,
            or an empty range; or an integer input that is neither a seed nor a scalar
            has no declared range.
    """
    declared = dict(model.serving_ranges()) if hasattr(model, "serving_ranges") else {}
    unknown = sorted(set(declared) - set(specs))
    if unknown:
        raise ValueError(f"serving_ranges() names unknown endpoints {unknown} (endpoints: {sorted(specs)}).")
    ranges = {}
    for endpoint, signature in specs.items():
        given = dict(declared.get(endpoint, {}))
        by_name = {s.name: s for s in signature}
        for name in sorted(given):
            if name not in by_name or not by_name[name].dtype.is_integer:
                raise ValueError(f"serving_ranges()['{endpoint}'] names '{name}', which is not an integer input "
                                 f"of the endpoint (integer inputs: "
                                 f"{sorted(n for n, s in by_name.items() if s.dtype.is_integer)}).")
        for spec in signature:
            if not spec.dtype.is_integer:
                continue
            bounds = given[spec.name] if spec.name in given else default_range(spec)
            if spec.name in given and bounds is None:
                bounds = (None, None)
            if bounds is None:
                raise ValueError(
                    f"Endpoint '{endpoint}': integer input '{spec.name}' (shape {spec.shape.as_list()}) holds ids, "
                    "which have no default range; declare it in serving_ranges(), e.g. "
                    f"{{'{endpoint}': {{'{spec.name}': (0, num_classes - 1)}}}}.")
            low, high = (_checked_bound(endpoint, spec.name, b) for b in bounds)
            if low is not None and high is not None and low > high:
                raise ValueError(f"serving_ranges()['{endpoint}']['{spec.name}'] is empty: ({low}, {high}).")
            ranges.setdefault(endpoint, {})[spec.name] = (low, high)
    return ranges


def check_range(x, name, low, high):
    """``x`` after an assertion that every value lies in ``[low, high]`` (``None``: open).

    The error is an ``InvalidArgumentError`` reading "assertion failed: [num_samples
    must be >= 1, got 0]": it names the input, its range and the first bound broken.
    """
    if low is None and high is None:
        return x
    smallest, largest = tf.reduce_min(x), tf.reduce_max(x)  # an empty batch passes (and is refused by name)
    below = smallest < low if low is not None else tf.constant(False)
    above = largest > high if high is not None else tf.constant(False)
    got = tf.where(below, smallest, largest)
    message = tf.strings.format(f"{name} must be {describe_range(low, high)}, got {{}}", got)
    with tf.control_dependencies([tf.debugging.Assert(tf.logical_not(below | above), [message])]):
        return tf.identity(x)
