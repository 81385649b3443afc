"""Every registered model's recipe under every flag of the matrix: ``mpkeras train NAME --smoke`` plus one flag.

    python benchmarks/flag_matrix.py [NAME ...] [--flags mirrored,mixed,jit] [--jobs 1]

Each run is a fresh process (``--cpu-devices 2`` must split the CPU before TensorFlow starts), on the
recipe's embedded default dataset, with the export. A run either succeeds or refuses the flag with one
``mpkeras train NAME: error: ...`` line and exit status 2 (the model's declared opt-out); anything else is a
failure. For ``--mixed-precision`` runs the exported signatures must still take and return float32.

Writes ``benchmarks/results/flag_matrix.json`` and ``flag_matrix.md``; exits 1 if any run failed.
"""

import argparse
import concurrent.futures
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = {
    "mirrored": ["--strategy", "mirrored", "--cpu-devices", "2"],
    "mixed": ["--mixed-precision"],
    "jit": ["--jit"],
}


def float16_signatures(out_dir, name):
    """Signature inputs/outputs of the newest export that are float16 (should be none)."""
    cards = sorted(glob.glob(os.path.join(out_dir, "exported", name, "*", "assets.extra", "model_card.json")))
    if not cards:
        return None
    with open(cards[-1]) as f:
        card = json.load(f)
    return [f"{sig}/{side}/{key}" for sig, io in card["signatures"].items() for side in ("inputs", "outputs")
            for key, desc in io[side].items() if desc["dtype"] == "float16"]


def run_one(name, flag, data_dir):
    with tempfile.TemporaryDirectory(prefix=f"matrix-{name}-{flag}-") as out:
        cmd = [sys.executable, "-m", "mpkeras.cli", "train", name, "--smoke", *FLAGS[flag], "--out", out]
        if flag != "mixed":  # the export matters for mixed precision (float32 signatures); skip it elsewhere
            cmd.append("--no-export")
        if name not in ("dqn", "reinforce", "actor_critic"):
            cmd += ["--data-dir", data_dir, "--verbose", "0"]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"}
        start = time.time()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=1800, check=False)
        seconds = round(time.time() - start, 1)
        errors = [line for line in proc.stderr.splitlines() if line.startswith(f"mpkeras train {name}: error:")]
        row = {"model": name, "flag": flag, "seconds": seconds, "returncode": proc.returncode}
        if proc.returncode == 0:
            row["status"] = "ok"
            if flag == "mixed":
                row["float16_signatures"] = float16_signatures(out, name)
                if row["float16_signatures"]:
                    row["status"] = "failed"
        elif proc.returncode == 2 and errors and "Traceback" not in proc.stderr:
            row.update(status="refused", message=errors[0])
        else:
            row.update(status="failed", stderr=proc.stderr[-2000:])
        return row


def write_tables(rows, names, flags, out_dir, merge):
    """Write flag_matrix.json and .md from ``rows`` (plus, with ``merge``, the other rows already on disk)."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "flag_matrix.json")
    if merge and os.path.exists(path):
        with open(path) as f:
            done = {(r["model"], r["flag"]) for r in rows}
            rows = [r for r in json.load(f) if (r["model"], r["flag"]) not in done] + rows
        names = sorted({r["model"] for r in rows})
        flags = [f for f in FLAGS if any(r["flag"] == f for r in rows)]
    with open(path + ".tmp", "w") as f:
        json.dump(rows, f, indent=1)
    os.replace(path + ".tmp", path)
    table = {(r["model"], r["flag"]): r for r in rows}
    lines = ["| model | " + " | ".join(f"`{' '.join(FLAGS[f])}`" for f in flags) + " |",
             "|---" * (len(flags) + 1) + "|"]
    for name in names:
        cells = []
        for f in flags:
            r = table.get((name, f), {"status": "not run"})
            cells.append("not run" if r["status"] == "not run" else {"ok": f"ok ({r['seconds']:.0f} s)" if r.get("seconds") else "ok", "refused": "refused: " + r.get("message", "").split(
                ": ", 2)[-1], "failed": "**FAILED**"}[r["status"]])
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    with open(os.path.join(out_dir, "flag_matrix.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", help="registered models (default: all)")
    p.add_argument("--flags", default=",".join(FLAGS), help="comma-separated subset of " + ",".join(FLAGS))
    p.add_argument("--jobs", type=int, default=1, help="runs at a time")
    p.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"))
    p.add_argument("--merge", action="store_true", help="keep the other rows of an existing flag_matrix.json")
    args = p.parse_args(argv)
    sys.path.insert(0, ROOT)
    from mpkeras.registry import list_models

    names = args.names or list_models()
    flags = args.flags.split(",")
    data_dir = os.path.join(tempfile.gettempdir(), "mpkeras-flag-matrix-tfds")  # embedded sets built once
    cases = [(n, f) for n in names for f in flags]
    rows = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for row in pool.map(lambda c: run_one(*c, data_dir), cases):
            print(f"{row['model']:16s} {row['flag']:9s} {row['status']:8s} {row['seconds']:7.1f}s "
                  f"{row.get('message', '') or row.get('stderr', '')[-300:]}", flush=True)
            rows.append(row)
            write_tables(rows, names, flags, args.out, args.merge)  # after every run: a long matrix can be cut off
    rows = write_tables(rows, names, flags, args.out, args.merge)
    failed = [f"{r['model']} {r['flag']}" for r in rows if r["status"] == "failed"]
    print(f"{len(rows)} runs: {sum(r['status'] == 'ok' for r in rows)} ok, "
          f"{sum(r['status'] == 'refused' for r in rows)} refused, {len(failed)} failed {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
