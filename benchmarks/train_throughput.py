"""Training throughput (samples/s, i.e. images/s) with XLA off and on.

    python benchmarks/train_throughput.py [--models mlp,vae,lenet,resnet18,unet,realnvp,glow] [--steps 200]
        [--batch-size 128] [--out FILE.json]

Each configuration compiles, warms up for one epoch of ``--warmup`` steps, then
times ``--repeats`` epochs of ``--steps`` steps of ``model.fit`` on a cached,
repeated in-memory batch (so the input pipeline is not what is measured) and
reports the median. The JSON holds absolute figures and the XLA/no-XLA ratio.
"""

import argparse
import json
import os
import platform
import statistics

import keras
import numpy as np
import tensorflow as tf

from timing import EpochTimer  # benchmarks/timing.py (the script's own folder)

from mpkeras.registry import get_model

# The recipes' default architectures. target: "class" (one label per image), "mask" (one per pixel) or None.
CONFIGS = {
    "mlp": dict(kwargs=dict(input_shape=(28, 28, 1), hidden_units=(1024, 1024), dropout=0.3), target="class"),
    "vae": dict(kwargs=dict(input_shape=(28, 28, 1), latent_dim=16, hidden_units=(512, 256)), target=None),
    "lenet": dict(kwargs=dict(input_shape=(28, 28, 1), activation="relu", pooling="max", dropout=0.1,
                              batch_norm=True), target="class"),
    "resnet18": dict(kwargs=dict(input_shape=(28, 28, 1), width=16, stem="small"), target="class"),
    "unet": dict(kwargs=dict(input_shape=(64, 64, 1), num_classes=11), target="mask"),
    # Flows: the NLL needs no target; binary pixels are valid inputs (the logit preprocessing keeps them finite).
    "realnvp": dict(kwargs=dict(input_shape=(2,), num_couplings=8, hidden_units=128), target=None),
    "glow": dict(kwargs=dict(input_shape=(28, 28, 1), levels=2, steps=8, hidden_units=64), target=None),
}


def measure(name, jit, steps, warmup, repeats, batch_size):
    keras.utils.set_random_seed(0)
    cfg = CONFIGS[name]
    rng = np.random.default_rng(0)
    shape = cfg["kwargs"]["input_shape"]
    x = (rng.uniform(size=(batch_size, *shape)) < 0.3).astype(np.float32)
    y = rng.integers(0, 10, size=(batch_size, *shape[:2]) if cfg["target"] == "mask" else batch_size)
    ds = tf.data.Dataset.from_tensors((x, y) if cfg["target"] else x).cache().repeat()
    model = get_model(name)(**cfg["kwargs"])
    model.compile(optimizer="adam", jit_compile=jit)
    timer = EpochTimer()
    model.fit(ds, steps_per_epoch=warmup, epochs=1, verbose=0)  # trace + compile
    model.fit(ds, steps_per_epoch=steps, epochs=repeats, verbose=0, callbacks=[timer])
    seconds = statistics.median(timer.times)
    return {"samples_per_s": steps * batch_size / seconds, "ms_per_step": 1000 * seconds / steps}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=",".join(CONFIGS))
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--out", default=None, help="JSON file (default: print only)")
    args = p.parse_args(argv)
    results = {}
    for name in args.models.split(","):
        row = {}
        for jit in (False, True):
            row["xla" if jit else "no_xla"] = measure(name, jit, args.steps, args.warmup, args.repeats, args.batch_size)
        row["xla_speedup"] = row["xla"]["samples_per_s"] / row["no_xla"]["samples_per_s"]
        results[name] = row
        print(f"{name}: no XLA {row['no_xla']['samples_per_s']:.0f} samples/s, "
              f"XLA {row['xla']['samples_per_s']:.0f} samples/s, ratio {row['xla_speedup']:.2f}")
    report = {
        "benchmark": "train_throughput",
        "batch_size": args.batch_size,
        "steps": args.steps,
        "results": results,
        "machine": {"cpus": os.cpu_count(), "gpus": len(tf.config.list_physical_devices("GPU")),
                    "platform": platform.platform()},
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
    }
    if args.out:
        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(report, f, indent=2)
    return report


if __name__ == "__main__":
    main()
