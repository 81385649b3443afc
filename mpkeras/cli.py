"""`mpkeras list | train | export | verify | mesh | tabular`.

    mpkeras list                          registered models, recipe, datasets, latest metric
    mpkeras train NAME [recipe flags]     runs recipes/NAME.py (same code as `python recipes/NAME.py`)
    mpkeras export NAME --model FILE      exports a saved .keras model to exported/NAME/<next version>
        [--format onnx|tflite]            ... plus exported/NAME/<version>.onnx or .tflite beside it
    mpkeras verify PATH [PATH ...]        checks SavedModels in a fresh process without mpkeras
    mpkeras verify --all [BASE_DIR]       ... the newest version of every model under exported/ (or BASE_DIR)
    mpkeras mesh EXPORT --out FILE.ply    marching-cubes mesh of an exported implicit model's field
    mpkeras tabular TABLE.npz             evaluate a saved tabular RL agent (or --state S: its actions)
"""

import argparse
import glob
import importlib.util
import json
import os
import sys

from mpkeras.export.mesh import add_parser as add_mesh_parser
from mpkeras.export.mesh import cmd_mesh
from mpkeras.rl.cli import add_parser as add_tabular_parser
from mpkeras.rl.cli import cmd_tabular

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_recipe(name):
    """Imports ``recipes/<name>.py`` from the project checkout and returns its ``RECIPE``."""
    from mpkeras.registry import get_entry

    entry = get_entry(name)
    path = os.path.join(PROJECT_ROOT, entry.recipe)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"Recipe {entry.recipe} for {name!r} not found under {PROJECT_ROOT}. Recipes live in the source "
            "checkout: install with `pip install -e .` from the repository, or run `python recipes/<model>.py`."
        )
    spec = importlib.util.spec_from_file_location(f"mpkeras_recipe_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # AutoGraph looks functions' modules up here
    spec.loader.exec_module(module)
    return module.RECIPE


def latest_card(base_dir, name):
    """The model card of the newest export of ``name`` under ``base_dir``, or None."""
    versions = [d for d in glob.glob(os.path.join(base_dir, name, "*")) if os.path.basename(d).isdigit()]
    for d in sorted(versions, key=lambda d: int(os.path.basename(d)), reverse=True):
        path = os.path.join(d, "assets.extra", "model_card.json")
        if os.path.exists(path):
            with open(path) as f:
                return json.load(f)
    return None


def cmd_list(args):
    from mpkeras.registry import get_entry, list_models

    rows = [("name", "class", "recipe", "datasets (default first)", "latest metric")]
    for name in list_models():
        e = get_entry(name)
        datasets = ",".join((e.dataset, *getattr(load_recipe(name), "datasets", ())))
        card = latest_card(args.exported, name)
        value = (card or {}).get("metrics", {}).get(e.metric)
        metric = f"{e.metric}={value:.4g}" if isinstance(value, (int, float)) else f"{e.metric}=-"
        if card and card.get("smoke"):
            metric += " (smoke run)"
        rows.append((name, e.cls.__name__, e.recipe, datasets, metric))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


def cmd_export(args):
    import keras

    import mpkeras.models  # noqa: F401  (registers the classes .keras files refer to)
    from mpkeras.export import export_model

    if not os.path.exists(args.model):
        raise FileNotFoundError(f"No saved model at {args.model}; train first (`mpkeras train {args.name}`).")
    model = keras.saving.load_model(args.model)
    if args.format != "savedmodel":  # refuse before writing anything
        from mpkeras.export.onnx import ConversionError, check_convertible, registered_name

        try:
            check_convertible(registered_name(model), args.format)
        except ConversionError as e:
            print(f"mpkeras: error: {e}", file=sys.stderr)
            return 2
    path = export_model(model, args.name, base_dir=args.base_dir, version=args.version,
                        serving_root=args.serving_root, model_card={"source": os.path.abspath(args.model)},
                        keep=args.keep)
    print(path)
    if args.format != "savedmodel":  # exported/NAME/<version>.onnx|.tflite beside that SavedModel
        return export_converted(model, path, args.format, batch_size=args.batch_size)
    return 0


def export_converted(model, savedmodel, fmt, batch_size=None):
    """Writes ``<version dir>.onnx`` or ``.tflite`` next to the SavedModel version ``savedmodel``.

    ONNX converts that SavedModel's ``serving_default``; TFLite retraces ``model`` (the same
    weights) so that Keras' argmax needs TFLite builtins only.
    """
    from mpkeras.export.onnx import ConversionError, export_onnx
    from mpkeras.export.tflite import export_tflite

    path = f"{savedmodel.rstrip(os.sep)}.{fmt}"
    try:
        print(export_onnx(savedmodel, path) if fmt == "onnx" else export_tflite(model, path, batch_size=batch_size))
    except ConversionError as e:
        print(f"mpkeras: error: {e}", file=sys.stderr)
        return 2
    return 0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="mpkeras", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="list registered models")
    p.add_argument("--exported", default="exported", help="where to look for the latest metrics")
    p = sub.add_parser("train", help="train NAME with its recipe (flags: mpkeras train NAME --help)", add_help=False)
    p.add_argument("name")
    p = sub.add_parser("export", help="export a saved .keras model")
    p.add_argument("name")
    p.add_argument("--model", required=True, help="path of a .keras file, e.g. runs/NAME/model.keras")
    p.add_argument("--base-dir", default="exported")
    p.add_argument("--version", type=int, default=None)
    p.add_argument("--serving-root", default=None, help="base path TF Serving sees, e.g. /models")
    p.add_argument("--keep", type=int, default=None, help="keep only the newest N complete versions")
    p.add_argument("--format", choices=("savedmodel", "onnx", "tflite"), default="savedmodel",
                   help="onnx/tflite: also convert serving_default to exported/NAME/<version>.onnx|.tflite")
    p.add_argument("--batch-size", type=int, default=None,
                   help="tflite only: a static batch size (the RNN classifiers need one, e.g. 1)")
    p = sub.add_parser("verify", help="verify SavedModels in a fresh process (no mpkeras import)", add_help=False)
    add_mesh_parser(sub)
    add_tabular_parser(sub)

    if argv[:1] == ["train"] and len(argv) >= 2 and not argv[1].startswith("-"):
        from mpkeras.registry import UnknownModelError

        try:
            recipe = load_recipe(argv[1])
        except (UnknownModelError, FileNotFoundError) as e:
            print(f"mpkeras: error: {e}", file=sys.stderr)
            return 2
        recipe.main(argv[2:])
        return 0
    if argv[:1] == ["verify"]:  # its own parser: PATH ... | --all [BASE_DIR], --strict, --atol, --rtol
        from mpkeras.export.verify import main_verify

        return main_verify(argv[1:])
    args, rest = parser.parse_known_args(argv)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "list":
        return cmd_list(args)
    if args.command == "export":
        return cmd_export(args)
    if args.command == "mesh":
        return cmd_mesh(args)
    if args.command == "tabular":
        return cmd_tabular(args)
    parser.error("mpkeras train needs a model name, e.g. `mpkeras train vae`")


if __name__ == "__main__":
    sys.exit(main())
