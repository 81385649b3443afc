"""Verify exported SavedModels in a fresh Python process that does not import mpkeras.

The checks themselves live in ``_standalone_verify.py`` (TensorFlow, NumPy and the
standard library only); this module runs it with ``sys.executable`` and reads the
JSON report it writes.  TensorFlow takes seconds to start, so pass many paths at
once: they are all checked in one subprocess.

Example:
    >>> report = verify_savedmodel("exported/vae/1")
    >>> sorted(report["signatures"])
    ['decode', 'elbo', 'encode', 'reconstruct', 'sample', 'serving_default']
    >>> reports = verify_savedmodel(["exported/vae/1", "exported/made/1"])  # one process
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

from mpkeras.export._standalone_verify import case_label

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_standalone_verify.py")


class VerificationError(RuntimeError):
    """A SavedModel failed verification.

    Attributes:
        report: the parsed JSON summary (``None`` if the checker crashed before writing it).
        output: the checker's stdout and stderr.
    """

    def __init__(self, message, report=None, output=""):
        super().__init__(message)
        self.report = report
        self.output = output


def _run_checker(paths, atol, rtol, timeout):
    """Run the standalone checker on ``paths``; returns (summary or None, output, returncode)."""
    with tempfile.TemporaryDirectory(prefix="mpkeras-verify-") as tmp:
        report_file = os.path.join(tmp, "report.json")
        cmd = [sys.executable, SCRIPT, *[os.path.abspath(p) for p in paths],
               "--json", report_file, "--atol", repr(atol), "--rtol", repr(rtol)]
        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            raise VerificationError(f"verification timed out after {timeout} s\n{out}", output=out) from e
        output = proc.stdout + ("\n--- stderr ---\n" + proc.stderr if proc.stderr.strip() else "")
        summary = None
        if os.path.exists(report_file):
            with open(report_file) as f:
                summary = json.load(f)
            # Report keys are the absolute paths given to the checker; key them as the caller did.
            summary["reports"] = {p: summary["reports"][os.path.abspath(p)] for p in paths}
    return summary, output, proc.returncode


def _failures(summary):
    lines = []
    for path, report in summary["reports"].items():
        if report["ok"]:
            continue
        lines.append(f"{path}:")
        lines += [f"  {e}" for e in report["errors"]]
        for c in report["checks"]:
            if not c["ok"]:
                where = f"{c['signature']}/{c['output']}" if c["output"] else c["signature"]
                lines.append(f"  {where}: {c['message']}")
    if summary["mpkeras_imported"]:
        lines.append("the checker process imported mpkeras")
    return "\n".join(lines)


def verify_savedmodel(path, *, atol=1e-5, rtol=1e-4, timeout=600):
    """Reload SavedModel(s) in a fresh process and replay the stored examples.

    Args:
        path: a SavedModel directory, or a list of them (checked in one subprocess).
        atol, rtol: tolerance for float outputs.
        timeout: seconds before the subprocess is abandoned.

    Returns:
        For one path, its report: ``ok``, ``signatures`` (``{name: {"inputs", "outputs"}}``
        with dtype and shape per tensor), ``serving_default``, ``model_card``,
        ``examples`` (``stored``/``generated`` per signature), ``checks``, ``errors``
        and ``mpkeras_imported`` (always False on success).  For a list,
        ``{path: report}``.

    Raises:
        VerificationError: any check failed; the message lists the failed signatures
            and outputs and ends with the checker's output.
    """
    single = isinstance(path, (str, os.PathLike))
    paths = [os.fspath(path)] if single else [os.fspath(p) for p in path]
    if not paths:
        raise ValueError("verify_savedmodel() needs at least one path.")
    summary, output, returncode = _run_checker(paths, atol, rtol, timeout)
    if summary is None:
        raise VerificationError(f"the checker exited with status {returncode} without a report\n{output}",
                                output=output)
    if returncode != 0 or not summary["ok"]:
        raise VerificationError(f"SavedModel verification failed:\n{_failures(summary)}\n\n"
                                f"--- checker output ---\n{output}", report=summary, output=output)
    return summary["reports"][paths[0]] if single else summary["reports"]


def newest_versions(base_dir):
    """``{model: newest complete version directory}`` for every model under ``base_dir``."""
    found = {}
    if not os.path.isdir(base_dir):
        return found
    for name in sorted(os.listdir(base_dir)):
        model_dir = os.path.join(base_dir, name)
        if name.startswith(".") or not os.path.isdir(model_dir):
            continue
        versions = [int(d) for d in os.listdir(model_dir)
                    if d.isdigit() and os.path.isfile(os.path.join(model_dir, d, "saved_model.pb"))]
        if versions:
            found[name] = os.path.join(model_dir, str(max(versions)))
    return found


def _serving_table(summary):
    """Lines summarising the TF Serving request and bad-input checks of every path."""
    lines = []
    for path, report in summary["reports"].items():
        rows = report.get("bad_input", [])
        bad = [r for r in rows if not r["ok"]]
        out_of_range = [r for r in rows if r.get("value") is not None]
        serving = [f"{s}: {p}" for s, r in report.get("serving", {}).items() for p in r.get("problems", [])]
        lines.append(f"{path}: TF Serving requests {'ok' if report.get('serving_ok') else 'FAILED'}, "
                     f"bad inputs {len(rows) - len(bad)}/{len(rows)} ok (out-of-range integers: "
                     f"{sum(r['ok'] for r in out_of_range)}/{len(out_of_range)} ok)")
        lines += [f"  {p}" for p in serving]
        lines += [f"  {r['signature']} [{case_label(r)}]: {r['outcome'][:200]}" for r in bad]
    return lines


def main_verify(argv=None):
    """``mpkeras verify PATH [PATH ...] | --all [BASE_DIR]``: print the checker's report; return the exit code.

    With ``--all`` it checks the newest version of every model under ``BASE_DIR``
    (default ``exported``) in one process.  The exit code is 1 if any endpoint fails
    (and, with ``--strict``, if a TF Serving request or bad-input check fails).
    """
    parser = argparse.ArgumentParser(prog="mpkeras verify",
                                     description="Reload SavedModels without mpkeras and replay their examples.")
    parser.add_argument("paths", nargs="*", help="SavedModel version directories")
    parser.add_argument("--all", nargs="?", const="exported", default=None, metavar="BASE_DIR",
                        help="verify the newest version of every model under BASE_DIR (default: exported)")
    parser.add_argument("--strict", action="store_true",
                        help="also fail on TF Serving request or bad-input check failures")
    parser.add_argument("--atol", type=float, default=1e-5)
    parser.add_argument("--rtol", type=float, default=1e-4)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args(argv)
    if args.all is not None:
        found = newest_versions(args.all)
        if not found:
            print(f"no exported model versions under {args.all}")
            return 1
        args.paths = list(args.paths) + list(found.values())
    if not args.paths:
        parser.error("give SavedModel paths or --all [BASE_DIR]")
    try:
        summary, output, returncode = _run_checker(args.paths, args.atol, args.rtol, args.timeout)
    except VerificationError as e:
        print(e)
        return 1
    print(output)
    if summary is None or returncode != 0 or not summary["ok"]:
        if summary is not None:
            print(f"verification FAILED:\n{_failures(summary)}")
        return 1
    print("\n".join(_serving_table(summary)))
    extra_ok = all(r.get("serving_ok") and r.get("bad_input_ok") for r in summary["reports"].values())
    if args.strict and not extra_ok:
        print("verification FAILED: TF Serving request or bad-input checks (see above)")
        return 1
    print(f"verification passed: {len(args.paths)} SavedModel(s)")
    return 0
