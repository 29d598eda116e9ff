"""Pre-renders the example gallery: runs innvestigate's examples once and keeps their output.

    KERAS_BACKEND=tensorflow python docs/render_gallery.py [--full] [--only NAME ...]

The examples train networks (minutes on two cores), so ``make docs`` does not run them:
it shows what this script stored under ``docs/gallery/innvestigate/<example>/`` - the
figure (PNG), the tables (CSV) and ``result.json`` (title, the printed findings, run
time, Keras version and backend). Run it again after changing an example and commit the
folder. Data come from ``shared_datasets``' offline sets; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES_DIR = os.path.join(ROOT, "innvestigate", "examples")
GALLERY_DIR = os.path.join(ROOT, "docs", "gallery", "innvestigate")


def main(argv=None) -> int:
    sys.path.insert(0, EXAMPLES_DIR)
    import run_all  # the examples' own list, in their order

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="full examples instead of --quick")
    parser.add_argument("--only", nargs="*", choices=run_all.EXAMPLES, help="render only these")
    args = parser.parse_args(argv)

    import keras

    failed = []
    with tempfile.TemporaryDirectory(prefix="docs-gallery-") as work:
        models = os.path.join(work, "models")
        for name in args.only or run_all.EXAMPLES:
            print(f"== {name}", flush=True)
            out = os.path.join(work, name)
            start = time.perf_counter()
            try:
                result = importlib.import_module(name).main(
                    out, quick=not args.full, cache_dir=models
                )
            except Exception as error:  # reported; the other examples still render
                print(f"{name} failed: {error!r}", file=sys.stderr)
                failed.append(name)
                continue
            target = os.path.join(GALLERY_DIR, name)
            shutil.rmtree(target, ignore_errors=True)
            os.makedirs(target)
            for path in list(result["figures"]) + list(result["csv"]):
                shutil.copyfile(path, os.path.join(target, os.path.basename(path)))
            meta = {
                "title": result["title"],
                "lines": list(result["lines"]),
                "figures": [os.path.basename(p) for p in result["figures"]],
                "csv": [os.path.basename(p) for p in result["csv"]],
                "seconds": round(time.perf_counter() - start, 1),
                "mode": "full" if args.full else "quick",
                "keras": keras.__version__,
                "backend": keras.backend.backend(),
            }
            with open(os.path.join(target, "result.json"), "w") as fh:
                json.dump(meta, fh, indent=1)
                fh.write("\n")
            print("\n".join(result["lines"]), flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
