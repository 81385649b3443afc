"""The shared shape of every recipe: config -> data -> model -> fit -> evaluate -> export.

A recipe file (``recipes/<model>.py``) builds a :class:`Recipe` from four small
functions and calls ``RECIPE.main()``; ``mpkeras train <model>`` imports the
same file and runs the same object.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from typing import Callable

from mpkeras import flags
from mpkeras.flags import int_tuple  # noqa: F401  (recipes import it from here)
from mpkeras.train.errors import UnsupportedFlagError


@dataclasses.dataclass
class Data:
    """Batched datasets of one run, plus what the model card should say about them.

    Attributes:
        train, val, test: batched ``tf.data.Dataset``s (``val`` may be None).
        card: JSON-safe description (dataset name, splits, preprocessing).
        extras: anything else the recipe's evaluate/figures need (e.g. a fixed test batch).
        train_full: train + val, batched like ``train``, for ``--retrain-full`` (None: not offered).
    """

    train: object
    val: object
    test: object
    card: dict
    extras: dict = dataclasses.field(default_factory=dict)
    train_full: object = None


@dataclasses.dataclass
class Recipe:
    """Everything that differs between recipes.

    Attributes:
        model: registry name of the model.
        make_data: ``(args) -> Data``; ``args.dataset``, ``args.batch_size``,
            ``args.seed``, ``args.smoke`` are set.
        make_model: ``(args, data) -> keras.Model`` (called inside the strategy scope; not compiled).
        evaluate: ``(model, data, args) -> dict`` of test metrics in the field's units.
        figures: ``(model, data, args, fig_dir) -> dict`` of name -> PNG path.
        add_arguments: adds recipe-specific flags to the parser.
        compile_kwargs: ``(args) -> dict`` of extra ``compile`` arguments (loss, metrics).
        callbacks: ``(args, data, run_dir) -> list`` of extra Keras callbacks for the main ``fit`` (e.g. sample
            grids over training); added on the chief only.
        dataset_defaults: ``(dataset name) -> dict`` of flag defaults for that dataset (flag dests as keys), for
            recipes that serve datasets of different kinds; flags given on the command line still win.
        datasets: the TFDS catalogue datasets the recipe supports besides its embedded default (``--dataset``);
            each is run end to end under ``tfds.testing.mock_data`` by tests/test_catalogue.py, and any other
            catalogue name is refused with this list. The family tuples are in :mod:`mpkeras.data.catalogue`.
        epochs, batch_size, learning_rate, patience, monitor, jit, schedule, clip_norm: defaults of the shared flags.

    The papers' configurations of a model (``--preset NAME``) live in :mod:`mpkeras.train.presets`, keyed by
    ``model``; a recipe with none there has no ``--preset`` flag.
    """

    model: str
    make_data: Callable
    make_model: Callable
    evaluate: Callable
    figures: Callable | None = None
    add_arguments: Callable | None = None
    compile_kwargs: Callable | None = None
    callbacks: Callable | None = None
    dataset_defaults: Callable | None = None
    datasets: tuple = ()
    epochs: int = 20
    batch_size: int = 128
    learning_rate: float = 1e-3
    patience: int = 10
    monitor: str = "val_loss"
    jit: bool = False
    schedule: str = "constant"
    clip_norm: float | None = None

    def parser(self):
        from mpkeras.registry import get_entry
        from mpkeras.train.distribute import STRATEGIES

        entry = get_entry(self.model)
        p = flags.ArgumentParser(
            prog=self.prog, description=f"Train and export `{self.model}` ({entry.cls.__name__})."
        )
        catalogue = f"; TFDS catalogue: {', '.join(self.datasets)}" if self.datasets else ""
        p.add_argument("--dataset", default=entry.dataset,
                       help=f"TFDS name (default: %(default)s, embedded{catalogue}).")
        p.add_argument("--data-dir", default=None, help="TFDS data_dir (default: TFDS's, or $MPKERAS_DATA_DIR).")
        p.add_argument("--epochs", type=flags.positive_int, default=self.epochs)
        p.add_argument("--batch-size", type=flags.positive_int, default=self.batch_size, help="global batch size")
        p.add_argument("--learning-rate", type=flags.positive_float, default=self.learning_rate)
        p.add_argument("--patience", type=flags.nonnegative_int, default=self.patience,
                       help="early-stopping patience; 0 disables")
        p.add_argument("--retrain-full", action="store_true",
                       help="after early stopping on val, train a fresh model on train+val for the best epoch count")
        p.add_argument("--schedule", choices=SCHEDULES, default=self.schedule,
                       help="learning-rate schedule (cosine: decay to 0 over --epochs; step: multiply by "
                            "--decay-factor after each epoch in --decay-epochs)")
        p.add_argument("--decay-epochs", type=flags.int_tuple, default=None,
                       help="--schedule step: the epochs after which the learning rate drops, e.g. 91,137")
        p.add_argument("--decay-factor", type=float_in_unit_interval, default=0.1,
                       help="--schedule step: the factor of each drop (default: %(default)s)")
        p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam",
                       help="adam, sgd (with --momentum) or rmsprop; recipes that build one optimizer per network "
                            "(the GANs) take Adam only")
        p.add_argument("--momentum", type=flags.rate, default=0.0, help="momentum of sgd and rmsprop (default: 0)")
        p.add_argument("--epsilon", type=flags.positive_float, default=None,
                       help="epsilon of adam and rmsprop (default: Keras's, 1e-7)")
        p.add_argument("--clip-norm", type=flags.positive_float, default=self.clip_norm,
                       help="clip gradients to this global norm, g <- T g / max(T, ||g||) (default: %(default)s)")
        p.add_argument("--strategy", choices=STRATEGIES, default="default")
        p.add_argument("--cpu-devices", type=flags.positive_int, default=None,
                       help="split the CPU into N logical devices")
        p.add_argument("--jit", action=argparse.BooleanOptionalAction, default=self.jit, help="XLA-compile steps")
        p.add_argument("--mixed-precision", action="store_true", help="mixed_float16 compute")
        p.add_argument("--seed", type=flags.seed, default=0)
        p.add_argument("--deterministic", action="store_true",
                       help="deterministic TF ops (tf.config.experimental.enable_op_determinism); slower")
        p.add_argument("--smoke", action="store_true", help="a few steps end to end, for tests")
        p.add_argument("--out", default=".", help="root for runs/ and exported/ (default: current directory)")
        p.add_argument("--run-dir", default=None, help="run directory (default: OUT/runs/MODEL)")
        p.add_argument("--no-export", dest="export", action="store_false")
        p.add_argument("--verbose", type=int, choices=(0, 1, 2), default=2)
        flags.add_debug_argument(p)
        if self.add_arguments:
            self.add_arguments(p)
        if self.presets:
            listing = "; ".join(f"{name}: {preset.summary}" for name, preset in self.presets.items())
            p.add_argument("--preset", choices=tuple(self.presets), default=None,
                           help=f"a paper's configuration (flags given here still win): {listing}")
        return p

    @property
    def presets(self):
        """``{name: Preset}`` of this model (:mod:`mpkeras.train.presets`); empty for most recipes."""
        from mpkeras.train.presets import presets_of

        return presets_of(self.model)

    def parse_args(self, argv=None):
        """Parses ``argv``. Defaults, weakest first: the recipe's, ``dataset_defaults(--dataset)``, ``--preset``'s;
        flags given on the command line win over all three."""
        p = self.parser()
        known, _ = p.parse_known_args(argv)
        preset = self.presets[known.preset] if getattr(known, "preset", None) else None
        if preset:
            p.set_defaults(**preset.flags)  # the preset's --dataset, unless one is given
            known, _ = p.parse_known_args(argv)
        defaults = self.dataset_defaults(known.dataset) if self.dataset_defaults else {}
        p.set_defaults(**{**defaults, **(preset.flags if preset else {})})
        args = p.parse_args(argv)
        check_declared_dataset(self, args.dataset)
        check_schedule(args)
        return args

    @property
    def prog(self):
        return f"mpkeras train {self.model}"

    def main(self, argv=None):
        """Parses ``argv`` (default ``sys.argv[1:]``), runs, and returns the metrics dict.

        Errors the user can fix (:mod:`mpkeras.errors`) end in one line and exit status 2 (``--debug``: a traceback).
        """
        return flags.entry_point(self.prog, self.parse_args, lambda args: run(self, args), argv)


SCHEDULES = ("constant", "cosine", "step")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
float_in_unit_interval = flags.float_range(0, 1, low_open=True, high_open=True)


def check_schedule(args):
    """Raises :class:`~mpkeras.errors.UsageError` for ``--schedule step`` without ``--decay-epochs`` (or with
    epochs out of order), and for ``--decay-epochs`` under another schedule (they would do nothing)."""
    from mpkeras.errors import UsageError

    epochs = args.decay_epochs
    if args.schedule == "step":
        if not epochs:
            raise UsageError("--schedule step needs --decay-epochs, the epochs after which the learning rate drops "
                             "(e.g. --decay-epochs 91,137).")
        if list(epochs) != sorted(set(epochs)) or min(epochs) < 1:
            raise UsageError(f"--decay-epochs {','.join(map(str, epochs))}: give increasing positive epochs.")
    elif epochs:
        raise UsageError(f"--decay-epochs is used by --schedule step only, and the schedule is {args.schedule}; "
                         "add --schedule step or drop --decay-epochs.")


def check_declared_dataset(recipe, name):
    """Raises :class:`~mpkeras.errors.UsageError` for a TFDS catalogue dataset that ``recipe`` does not declare.

    Embedded datasets pass (the recipe's data function says whether it reads them), and so do names TFDS does
    not know, for :func:`mpkeras.data.load` to refuse with its close matches.
    """
    from mpkeras.data.catalogue import base_name
    from mpkeras.data.loading import EMBEDDED, in_catalogue
    from mpkeras.errors import UsageError
    from mpkeras.registry import get_entry

    base = base_name(name)
    if base in EMBEDDED or name in recipe.datasets or base in recipe.datasets or not in_catalogue(base):
        return
    default = get_entry(recipe.model).dataset
    if recipe.datasets:
        choice = f"it declares the TFDS datasets {', '.join(recipe.datasets)} and its embedded default {default}"
    else:
        choice = f"it reads only its embedded default, {default}, and declares no TFDS dataset"
    raise UsageError(f"--dataset {name}: the {recipe.model} recipe is not made for {name}; {choice}. "
                     "Pick one of those (each is tested end to end).")


def _shard_by_data(ds):
    import tensorflow as tf

    if ds is None:
        return None
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)


def make_optimizer(args, steps_per_epoch, epochs=None):
    """``--optimizer`` (Adam by default) with the run's learning rate, schedule and global-norm gradient clipping
    (g <- T g / max(T, ||g||)).

    The cosine schedule decays to 0 over ``epochs`` (default ``args.epochs``) of ``steps_per_epoch``; the step
    schedule multiplies the rate by ``--decay-factor`` after each of ``--decay-epochs``.
    """
    import keras

    learning_rate = args.learning_rate
    schedule = getattr(args, "schedule", "constant")
    if schedule != "constant" and steps_per_epoch <= 0:
        raise UnsupportedFlagError(f"--schedule {schedule}", "a training dataset of unknown length",
                                   "the schedule needs the number of steps per epoch; use --schedule constant")
    if schedule == "cosine":
        decay_steps = (epochs or args.epochs) * steps_per_epoch
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=decay_steps)
    elif schedule == "step":
        # Keras's rate at step s is values[i] for boundaries[i-1] < s <= boundaries[i]; step s = e * steps_per_epoch
        # is the first update of epoch e + 1 (0-based steps), which takes the lower rate.
        boundaries = [int(e) * steps_per_epoch - 1 for e in args.decay_epochs]
        values = [learning_rate * args.decay_factor**i for i in range(len(boundaries) + 1)]
        learning_rate = keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)
    name = getattr(args, "optimizer", "adam")
    momentum, epsilon = getattr(args, "momentum", 0.0), getattr(args, "epsilon", None)
    if name == "adam" and momentum:
        raise UnsupportedFlagError(f"--momentum {momentum}", "--optimizer adam",
                                   "Adam has no momentum argument (its beta_1 plays that part); use --optimizer sgd "
                                   "or rmsprop, or drop --momentum")
    if name == "sgd" and epsilon is not None:
        raise UnsupportedFlagError(f"--epsilon {epsilon}", "--optimizer sgd",
                                   "SGD has no epsilon; drop it, or use --optimizer adam or rmsprop")
    eps = {} if epsilon is None else {"epsilon": epsilon}
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=momentum, global_clipnorm=args.clip_norm)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate, momentum=momentum, global_clipnorm=args.clip_norm, **eps)
    return keras.optimizers.Adam(learning_rate, global_clipnorm=args.clip_norm, **eps)


OWN_OPTIMIZER_FLAGS = {"optimizer": "adam", "momentum": 0.0, "epsilon": None, "schedule": "constant",
                       "clip_norm": None}
"""Flags of :func:`make_optimizer` (with their neutral values) that a recipe building its own optimizers ignores."""


def refuse_ignored_optimizer_flags(recipe, args, compile_kwargs):
    """Raises :class:`UnsupportedFlagError` when ``compile_kwargs`` bring their own optimizers (one per network,
    as the GANs do) and an optimizer flag that only :func:`make_optimizer` reads is set: it would do nothing."""
    if not any(key.endswith("_optimizer") for key in compile_kwargs):
        return
    for dest, neutral in OWN_OPTIMIZER_FLAGS.items():
        value = getattr(args, dest, neutral)
        if value != neutral:
            flag = f"--{dest.replace('_', '-')} {value}"
            raise UnsupportedFlagError(flag, f"the {recipe.model} recipe",
                                       "it builds one Adam per network from --learning-rate, --beta-1 and --beta-2; "
                                       f"drop {flag.split()[0]}")


def _patch_for_multi_worker(model):
    """Scalar step outputs fail to reduce under ``MultiWorkerMirroredStrategy`` ("Invalid reduction
    dimension 0", tensorflow#72388), so every step output is reshaped to [1]."""
    model.train_step = _vector_step_outputs(model.train_step)
    model.test_step = _vector_step_outputs(model.test_step)


def _vector_step_outputs(step):
    """Wraps a train/test step so every output has shape [1]."""
    import tensorflow as tf

    def wrapped(data):
        return {k: tf.reshape(v, [1]) for k, v in step(data).items()}

    return wrapped


def refuse_unsupported_flags(model, name, args):
    """Raises :class:`UnsupportedFlagError` for a flag of the matrix that ``model`` declares it cannot train under."""
    from mpkeras.models.common import unsupported_flags

    asked = {"replicas": f"--strategy {args.strategy}" if args.strategy != "default" else None,
             "mixed_precision": "--mixed-precision" if args.mixed_precision else None,
             "jit": "--jit" if args.jit else None}
    for flag, reason in unsupported_flags(model).items():
        if asked.get(flag):
            raise UnsupportedFlagError(asked[flag], name, reason)


def run_isolated(args, fn):
    """``fn()`` after splitting the CPU into ``args.cpu_devices`` logical devices (before TensorFlow starts), with
    the global dtype policy restored afterwards (``--mixed-precision`` sets it for the run only)."""
    from mpkeras.train import distribute

    if args.cpu_devices:
        distribute.split_cpu(args.cpu_devices)
    import keras

    previous_policy = keras.config.dtype_policy()
    try:
        return fn()
    finally:
        keras.config.set_dtype_policy(previous_policy)


def build_model(recipe, args, data, train_ds, strategy=None, epochs=None):
    """The recipe's model for ``data``, built, compiled (with :func:`make_optimizer` and the recipe's
    ``compile_kwargs``) and with its optimizer slots made: what ``fit`` starts from, under ``strategy``.

    ``train_ds`` gives the input spec and the steps per epoch of the schedule; ``epochs`` defaults to ``args.epochs``.
    """
    import keras
    import tensorflow as tf

    from mpkeras.train import distribute

    strategy = strategy or tf.distribute.get_strategy()
    # Seed again: preparing data (a first TFDS build, say) may draw from the global RNGs
    # that Keras derives unseeded initializer seeds from.
    keras.utils.set_random_seed(args.seed)
    with strategy.scope():
        model = recipe.make_model(args, data)
        refuse_unsupported_flags(model, recipe.model, args)
        # Build (resuming needs the weights) from zeros of the input spec: drawing a real
        # batch would advance the stateful RNG of augmentation layers in the pipeline.
        sample = tf.nest.map_structure(lambda s: tf.zeros([2, *s.shape[1:]], s.dtype), train_ds.element_spec)
        inputs = sample[0] if isinstance(sample, tuple) else sample
        if hasattr(model, "build_from_data"):  # e.g. GANs, whose call() takes z, not the data
            model.build_from_data(inputs)
        else:
            model(inputs)
        extra = recipe.compile_kwargs(args) if recipe.compile_kwargs else {}
        refuse_ignored_optimizer_flags(recipe, args, extra)
        optimizer = make_optimizer(args, steps_per_epoch=int(train_ds.cardinality()), epochs=epochs or args.epochs)
        model.compile(optimizer=optimizer, jit_compile=bool(args.jit), **extra)
        if args.jit and not model.jit_compile:  # Keras turns XLA off for layers without XLA support
            raise UnsupportedFlagError("--jit", recipe.model, "Keras turned XLA off: a layer of this "
                                       "configuration has supports_jit=False")
        # Build the compiled metrics and the optimizer's slots now, under every strategy: left to fit,
        # they are created inside the first trace of train_step, which makes tf.function trace it twice.
        distribute.build_from_local_batch(model, sample)
        if args.strategy == "multi_worker":
            _patch_for_multi_worker(model)
    return model


def preset_card(recipe, args):
    """What the run's metrics.json and model card say about ``--preset`` (None: no preset)."""
    name = getattr(args, "preset", None)
    if not name:
        return None
    preset = recipe.presets[name]
    return {"name": name, "paper": preset.paper, "published": preset.published,
            "published_parameters": preset.parameters, "notes": preset.notes,
            "measured_here": "no: the published figure is the paper's, not a run of this preset"}


def run(recipe: Recipe, args) -> dict:
    """Runs one recipe with parsed ``args``; see :class:`Recipe`."""
    return run_isolated(args, lambda: _run(recipe, args))


def _run(recipe, args):
    import keras
    import numpy as np
    import tensorflow as tf

    from mpkeras.train import checks, distribute
    from mpkeras.train import figures as figs
    from mpkeras.train.callbacks import (AtomicBackupAndRestore, RaiseOnNonFinite, atomic_write_text,
                                         remove_stale_temporaries)

    start = time.time()
    keras.utils.set_random_seed(args.seed)  # Python, NumPy and TensorFlow
    if args.deterministic:
        tf.config.experimental.enable_op_determinism()
    if args.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    if args.smoke:
        args.epochs = min(args.epochs, 2)
    strategy = distribute.make_strategy(args.strategy)
    if args.jit and args.strategy != "default":
        # MirroredStrategy + jit_compile fails on CPU ("resource located in device CPU:1").
        print("note: --jit is ignored under a distribution strategy", file=sys.stderr)
        args.jit = False

    chief = distribute.is_chief()
    run_dir = args.run_dir or os.path.join(args.out, "runs", recipe.model)
    if not chief:  # non-chief workers write only to scratch space
        run_dir = tempfile.mkdtemp(prefix=f"mpkeras-{recipe.model}-worker-")
    fig_dir = os.path.join(run_dir, "figures")
    os.makedirs(fig_dir, exist_ok=True)

    data = recipe.make_data(args)
    if args.retrain_full and (data.train_full is None or data.val is None):
        raise UnsupportedFlagError("--retrain-full", f"the {recipe.model} recipe",
                                   "it needs a validation split and a train+val dataset, and its data has no "
                                   f"{'validation split' if data.val is None else 'train+val dataset'}")
    # Train batches drop their remainder, so a split smaller than one batch would train nothing.
    checks.check_batches({"train": data.train, "val": data.val, "test": data.test,
                          "train+val": data.train_full if args.retrain_full else None}, data.card, args.batch_size)
    train, val = checks.check_finite(data.train, "train"), checks.check_finite(data.val, "validation")
    if args.smoke:
        train, val = train.take(3), (val.take(2) if val is not None else None)
    if args.strategy == "multi_worker":
        train, val = _shard_by_data(train), _shard_by_data(val)

    def build_and_compile(train_ds, epochs):
        return build_model(recipe, args, data, train_ds, strategy, epochs)

    model = build_and_compile(train, args.epochs)
    monitor = recipe.monitor if val is not None else recipe.monitor.removeprefix("val_")
    # A run killed earlier left a backup: fit resumes from it (weights, optimizer, epoch) and history.csv grows.
    remove_stale_temporaries(run_dir)
    metadata = os.path.join(run_dir, "backup", "training_metadata.json")
    resumed_at = json.load(open(metadata))["epoch"] if os.path.exists(metadata) else 0
    if resumed_at:
        print(f"resuming from the backup after epoch {resumed_at} in {os.path.dirname(metadata)}")
    callbacks = [
        # First, so that a train split of unknown length that yields no batch stops the run before a backup is written.
        *([checks.RequireTrainingSteps(data.card, args.batch_size)] if int(data.train.cardinality()) < 0 else []),
        AtomicBackupAndRestore(os.path.join(run_dir, "backup")),
        keras.callbacks.TensorBoard(os.path.join(run_dir, "logs"), profile_batch=0),
        keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv"), append=bool(resumed_at)),
        RaiseOnNonFinite(),
    ]
    if recipe.callbacks and chief:
        callbacks += recipe.callbacks(args, data, run_dir)
    if args.patience:
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor=monitor, patience=args.patience, restore_best_weights=True)
        )
    with checks.non_finite_data_is_a_user_error():
        history = model.fit(train, validation_data=val, epochs=args.epochs, callbacks=callbacks,
                            verbose=args.verbose, shuffle=False)  # the tf.data pipeline shuffles
    history = {k: [float(np.ravel(v)[0]) for v in vs] for k, vs in history.history.items()}

    retrain_epochs = None
    if args.retrain_full:
        # Early stopping on val found how long to train; now use val as training data too.
        curve = history[monitor]
        best = int(np.argmax(curve) if "acc" in monitor else np.argmin(curve))
        retrain_epochs = best + 1
        train_full = checks.check_finite(data.train_full, "train+val")
        if args.smoke:
            train_full = train_full.take(3)
        if args.strategy == "multi_worker":
            train_full = _shard_by_data(train_full)
        print(f"retraining on train+val for {retrain_epochs} epochs (best {monitor} at epoch {retrain_epochs})")
        model = build_and_compile(train_full, retrain_epochs)
        with checks.non_finite_data_is_a_user_error():
            model.fit(train_full, epochs=retrain_epochs, verbose=args.verbose, shuffle=False, callbacks=[
                keras.callbacks.TensorBoard(os.path.join(run_dir, "logs", "retrain_full"), profile_batch=0),
                keras.callbacks.CSVLogger(os.path.join(run_dir, "history_retrain_full.csv")),
                RaiseOnNonFinite(),
            ])

    if chief:  # saved first, so a failure in evaluation or figures never loses the trained model
        tmp_model = os.path.join(run_dir, f"tmp-{os.getpid()}.keras")
        model.save(tmp_model)
        os.replace(tmp_model, os.path.join(run_dir, "model.keras"))
    metrics = recipe.evaluate(model, data, args)
    metrics = {k: (v if isinstance(v, (str, int)) else float(v)) for k, v in metrics.items()}
    paths = {"learning_curves": figs.learning_curves(history, os.path.join(fig_dir, "learning_curves.png"))}
    if recipe.figures:
        paths.update(recipe.figures(model, data, args, fig_dir))

    export_path = None
    if chief and args.export:
        from mpkeras.export import export_model

        card = {**data.card, "metrics": metrics, "recipe": f"recipes/{recipe.model}.py", "smoke": bool(args.smoke),
                "declared_datasets": list(recipe.datasets), "preset": preset_card(recipe, args)}
        export_path = export_model(model, recipe.model, base_dir=os.path.join(args.out, "exported"), model_card=card)

    report = {
        "model": recipe.model,
        "preset": preset_card(recipe, args),
        "data": data.card,
        "test": metrics,
        "epochs_trained": resumed_at + len(next(iter(history.values()), [])),
        "resumed_at_epoch": resumed_at,
        "retrain_full_epochs": retrain_epochs,
        "replicas": strategy.num_replicas_in_sync,
        "history": history,
        "figures": paths,
        "export": export_path,
        "args": {k: v for k, v in vars(args).items() if isinstance(v, (str, int, float, bool, type(None)))},
        "seconds": round(time.time() - start, 1),
        "tensorflow": tf.__version__,
    }
    atomic_write_text(os.path.join(run_dir, "metrics.json"), json.dumps(report, indent=2))
    print(f"\n{recipe.model}: test metrics ({data.card.get('dataset')}, {report['seconds']} s)")
    for k, v in metrics.items():
        print(f"  {k}: {v:.4f}" if isinstance(v, float) else f"  {k}: {v}")
    print(f"run directory: {run_dir}")
    if export_path:
        print(f"exported: {export_path}")
    return report
