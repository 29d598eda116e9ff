"""The ``shared-datasets`` command: ``list``, ``info NAME``, ``fetch NAME``.

Examples
--------
.. code-block:: console

    $ shared-datasets list --kind offline
    $ shared-datasets info letter
    $ shared-datasets fetch usps        # downloads with a progress bar
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import api
from .errors import DatasetError

__all__ = ["main"]


def _size(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _list(args: argparse.Namespace) -> int:
    names = api.list_datasets(args.kind)
    infos = api._all_infos()
    rows = [("name", "kind", "train", "test", "features", "classes", "description")]
    for name in names:
        i = infos[name]
        rows.append(
            (
                name,
                i.kind,
                _size(i.n_train),
                _size(i.n_test),
                _size(i.n_features),
                _size(i.n_classes),
                i.description,
            )
        )
    widths = [max(len(r[c]) for r in rows) for c in range(6)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:6], widths)) + "  " + row[6])
    return 0


def _info(args: argparse.Namespace) -> int:
    meta = api.info(args.name)
    print(f"{meta.name}: {meta.description}")
    for label, value in [
        ("kind", meta.kind),
        ("source", meta.source),
        ("licence", meta.license),
        ("split", meta.split),
        ("train", _size(meta.n_train)),
        ("test", _size(meta.n_test)),
        ("features", _size(meta.n_features)),
        ("classes", _size(meta.n_classes)),
        ("format", "CSR sparse" if meta.sparse else "dense"),
    ]:
        print(f"  {label:9s} {value}")
    if meta.class_names:
        shown = ", ".join(f"{k}={n}" for k, n in enumerate(meta.class_names[:30]))
        more = f", ... ({len(meta.class_names)} in all)" if len(meta.class_names) > 30 else ""
        print(f"  labels    {shown}{more}")
    if meta.kind in ("remote", "manual"):
        from . import remote

        print(f"  cache     {remote.dataset_folder(meta.name)}")
        for role, f in remote.REMOTE[meta.name].files.items():
            if role == "how":
                print(f"  obtain    {f} (manual download)")
                continue
            check = (
                f"{f.known_hash} (from {f.hash_source})"
                if f.known_hash
                else "none registered (unverified)"
            )
            print(f"  {role:9s} {f.url}\n            checksum: {check}")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    paths = api.fetch(args.name, progressbar=not args.no_progress)
    if not paths:
        print(f"{args.name}: nothing to download ({api.info(args.name).kind} dataset)")
    for role, path in paths.items():
        print(f"{role}: {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``shared-datasets``; returns the exit status (1 on a dataset error)."""
    parser = argparse.ArgumentParser(prog="shared-datasets", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("list", help="list dataset names with sizes")
    p.add_argument("--kind", choices=["offline", "generator", "remote", "manual"])
    p.set_defaults(run=_list)
    p = commands.add_parser("info", help="metadata, class names, URLs and checksums of one dataset")
    p.add_argument("name")
    p.set_defaults(run=_info)
    p = commands.add_parser("fetch", help="download a remote dataset into the cache")
    p.add_argument("name")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=_fetch)
    args = parser.parse_args(argv)
    try:
        status: int = args.run(args)
        return status
    except DatasetError as error:
        print(f"shared-datasets: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
