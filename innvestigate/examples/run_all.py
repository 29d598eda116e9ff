"""Runs every example and writes DIR/summary.md with the figures (PNG) and tables (CSV).

    python innvestigate/examples/run_all.py [--quick] --out DIR [--only NAME ...]

``--quick`` (used by ``make demo``) trains the networks briefly and analyses fewer
images (a few minutes on two cores); without it the examples run in full
(``make reproduce-innvestigate``). Trained networks are shared between the examples
through a temporary directory (``--models-dir`` keeps them). With ``--resume`` (needs
``--models-dir``) an example that finished in an earlier run with the same ``--out`` and
mode is not run again: its section of the summary is kept in ``--models-dir`` and its
figures and tables are already in ``--out``; an interrupted full run continues where it
stopped, and a finished one only rewrites the summary.
An example that fails is reported in the summary and makes the exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Before Keras: a quiet backend start-up (see _startup.py).
import _startup  # noqa: F401

EXAMPLES = [
    "visualizations",
    "misprediction",
    "compare_methods",
    "hyperparameters",
    "compare_architectures",
    "batchnorm_handling",
    "perturbation_analysis",
    "bounding_box_analysis",
    "explain_sequences",
]


def record_path(cache_dir, name, quick):
    """Where run_all records that example ``name`` finished (in ``--models-dir``)."""
    return os.path.join(cache_dir, "finished", f"{name}_{'quick' if quick else 'full'}.json")


def finished_run(record, out):
    """The record of an earlier run of the example into ``out``, or None.

    None also when the record belongs to another output directory or one of the files it
    wrote is gone: then the example has to run again.
    """
    if not os.path.exists(record):
        return None
    with open(record) as fh:
        finished = json.load(fh)
    if finished["out"] != out or not all(os.path.exists(p) for p in finished["files"]):
        return None
    return finished


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short training, fewer images")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--only", nargs="*", choices=EXAMPLES, help="run only these examples")
    parser.add_argument(
        "--models-dir",
        help="keep trained networks here (default: a temporary directory, removed at the end)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="skip the examples finished in an "
        "earlier run with the same --out and mode (needs --models-dir)",
    )
    args = parser.parse_args(argv)
    if args.resume and not args.models_dir:
        parser.error("--resume needs --models-dir (where finished examples are recorded)")
    warnings.filterwarnings("ignore", message="The structure of `inputs`")
    import importlib

    import keras

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    import shutil
    import tempfile

    cache_dir = args.models_dir or tempfile.mkdtemp(prefix="innvestigate-examples-")
    sections, failed, kept = [], [], []
    total_start = time.perf_counter()
    for name in args.only or EXAMPLES:
        start = time.perf_counter()
        print(f"== {name}", flush=True)
        record = record_path(cache_dir, name, args.quick)
        finished = finished_run(record, out) if args.resume else None
        if finished is not None:
            sections.append(finished["section"])
            kept.append(name)
            print(f"finished in an earlier run ({finished['seconds']:.0f} s), kept", flush=True)
            continue
        try:
            module = importlib.import_module(name)
            result = module.main(out, quick=args.quick, cache_dir=cache_dir)
        except Exception:  # reported, the others still run
            failed.append(name)
            sections.append(f"## {name}: FAILED\n\n```\n{traceback.format_exc()[-3000:]}\n```\n")
            print(traceback.format_exc(), file=sys.stderr)
            continue
        seconds = time.perf_counter() - start
        body = [f"## {result['title']}", "", f"`examples/{name}.py`, {seconds:.1f} s.", ""]
        # plain lines as paragraphs, "- " lines (methods not shown and why) as a list
        for line in result["lines"]:
            body += [line] if line.startswith("- ") else [line, ""]
        body += [""] + [
            f"![{os.path.basename(p)}]({os.path.relpath(p, out)})" for p in result["figures"]
        ]
        body += [
            f"Table: [{os.path.basename(p)}]({os.path.relpath(p, out)})" for p in result["csv"]
        ]
        sections.append("\n".join(body) + "\n")
        print("\n".join(result["lines"]), flush=True)
        os.makedirs(os.path.dirname(record), exist_ok=True)
        with open(record + ".tmp", "w") as fh:
            json.dump(
                {
                    "out": out,
                    "seconds": seconds,
                    "section": sections[-1],
                    "files": result["figures"] + result["csv"],
                },
                fh,
            )
        os.replace(record + ".tmp", record)
    header = (
        f"# innvestigate examples ({'quick' if args.quick else 'full'})\n\n"
        f"Keras {keras.__version__}, backend {keras.backend.backend()}; total "
        f"{time.perf_counter() - total_start:.0f} s. Reproduce: "
        f"`python innvestigate/examples/run_all.py {'--quick ' if args.quick else ''}--out DIR`.\n"
    )
    if kept:
        header += (
            f"\nKept from earlier runs (`--resume`; each section gives its own time): "
            f"{', '.join(kept)}.\n"
        )
    if failed:
        header += f"\n**Failed:** {', '.join(failed)}\n"
    if not args.models_dir:
        shutil.rmtree(cache_dir, ignore_errors=True)
    path = os.path.join(out, "summary.md")
    with open(path + ".tmp", "w") as fh:
        fh.write(header + "\n" + "\n".join(sections))
    os.replace(path + ".tmp", path)
    print(f"wrote {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
