"""The 8-Gaussian ring experiment: modes covered by each GAN method over several seeds, as a table and a figure.

    python experiments/gan_ring8.py --out runs/ring8 [--methods gan,gan_minimax,unrolled_gan,wgan_gp,wgan]
                                    [--seeds 0,1,2] [--jobs 1]

Each (method, seed) is one run of the method's recipe with its defaults (``mpkeras train MODEL --seed S``), in its
own process, into ``OUT/<method>/s<seed>``; runs whose ``metrics.json`` exists are not repeated. The script then
writes ``OUT/ring8.md`` (the README table: modes covered and the high-quality fraction per seed, and their means)
and ``OUT/ring8.png`` (every run's samples over the ring's centers, methods as rows, seeds as columns).
"""

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

# method label -> (registered model, extra recipe flags)
METHODS = {
    "gan": ("gan", []),
    "gan_minimax": ("gan", ["--generator-loss", "minimax"]),
    "unrolled_gan": ("unrolled_gan", []),
    "wgan_gp": ("wgan_gp", []),
    "wgan": ("wgan", []),
}


def run_dir(out, method, seed):
    return os.path.join(out, method, f"s{seed}")


def metrics_path(out, method, seed):
    return os.path.join(run_dir(out, method, seed), "runs", METHODS[method][0], "metrics.json")


def train(out, method, seed):
    """Runs one recipe in a child process (its own global seeds), unless its metrics.json exists."""
    if os.path.exists(metrics_path(out, method, seed)):
        return
    model, flags = METHODS[method]
    directory = run_dir(out, method, seed)
    os.makedirs(directory, exist_ok=True)
    command = [sys.executable, "-m", "mpkeras.cli", "train", model, "--seed", str(seed), "--out", directory,
               "--verbose", "0", *flags]
    with open(os.path.join(directory, "train.log"), "w") as log:
        done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed (exit {done.returncode}); see {directory}/train.log")


def table(out, methods, seeds):
    """The Markdown table: per seed 'modes (HQ fraction)', then the means."""
    head = "| method | " + " | ".join(f"seed {s}" for s in seeds) + " | mean modes | mean HQ fraction | run time |"
    lines = [head, "|" + "---|" * (len(seeds) + 4)]
    for method in methods:
        reports = [json.load(open(metrics_path(out, method, s))) for s in seeds]
        modes = [r["test"]["modes_covered"] for r in reports]
        hq = [r["test"]["high_quality_fraction"] for r in reports]
        seconds = [r["seconds"] for r in reports]
        cells = [f"{m} ({q:.3f})" for m, q in zip(modes, hq)]
        lines.append(f"| `{method}` | " + " | ".join(cells) + f" | {sum(modes) / len(modes):.2f} | "
                     f"{sum(hq) / len(hq):.3f} | {min(seconds):.0f}–{max(seconds):.0f} s |")
    return "\n".join(lines) + "\n"


def figure(out, methods, seeds, path):
    """Samples of every run (rows: methods, columns: seeds) over ring8's centers."""
    import keras
    import numpy as np

    import mpkeras.models  # noqa: F401  (registers the classes)
    from mpkeras.data.embedded import Ring8
    from mpkeras.train import figures as figs

    plt = figs.plt
    centers = Ring8.centers()
    fig, axes = plt.subplots(len(methods), len(seeds), figsize=(2.2 * len(seeds), 2.2 * len(methods)), squeeze=False)
    for i, method in enumerate(methods):
        for j, seed in enumerate(seeds):
            ax = axes[i, j]
            model = keras.saving.load_model(os.path.join(os.path.dirname(metrics_path(out, method, seed)),
                                                         "model.keras"))
            x = np.asarray(model.sample(2500, np.array([seed, 1], np.int32))["samples"])
            test = json.load(open(metrics_path(out, method, seed)))["test"]
            ax.scatter(x[:, 0], x[:, 1], s=1, c="k", alpha=0.3)
            ax.scatter(centers[:, 0], centers[:, 1], marker="x", s=30, c="tab:red")
            ax.set_xlim(-3, 3)
            ax.set_ylim(-3, 3)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"seed {seed}: {test['modes_covered']}/8, HQ {test['high_quality_fraction']:.2f}", fontsize=7)
            if j == 0:
                ax.set_ylabel(method, fontsize=8)
    fig.tight_layout()
    return figs.save(fig, path)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--jobs", type=int, default=1, help="runs at a time")
    args = p.parse_args(argv)
    methods, seeds = args.methods.split(","), [int(s) for s in args.seeds.split(",")]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        p.error(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(lambda ms: train(args.out, *ms), [(m, s) for s in seeds for m in methods]))
    markdown = table(args.out, methods, seeds)
    with open(os.path.join(args.out, "ring8.md"), "w") as f:
        f.write(markdown)
    print(markdown)
    print(figure(args.out, methods, seeds, os.path.join(args.out, "ring8.png")))


if __name__ == "__main__":
    main()
