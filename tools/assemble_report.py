"""Assemble ``reports/README.md`` from the parts the packages wrote.

``make demo`` runs each package's quick reproduction into ``reports/<package>/``;
each writes a ``summary.md`` beside its CSV tables and PNG figures. This script
stitches the summaries into one page, lists every table and figure with a link,
and says which packages wrote nothing (a missing part stays missing).

    python tools/assemble_report.py reports
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import re
import sys
import tempfile
from pathlib import Path

PACKAGES = ("shared-datasets", "xcsvm", "rbkernels", "innvestigate")


_LINK = re.compile(r"(!?\[[^\]]*\]\()(?!https?://|/|#)(?:\./)?([^)]+)\)")


def _rebase_links(markdown: str, folder: str) -> str:
    """Make the relative links of a part's summary relative to ``reports/``."""
    return _LINK.sub(lambda m: f"{m.group(1)}{folder}/{m.group(2)})", markdown)


def assemble(reports: Path) -> Path:
    """Write ``reports/README.md`` and return its path."""
    if not reports.is_dir():
        raise FileNotFoundError(f"{reports} does not exist; run `make demo` to create it")
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = ["# Workspace demo report", "", f"Written {stamp} by `make demo`.", ""]
    missing = []
    for package in PACKAGES:
        part = reports / package
        summary = part / "summary.md"
        if not summary.is_file():
            missing.append(package)
            continue
        body = summary.read_text(encoding="utf-8").strip()
        if not body.startswith("#"):
            lines += [f"## {package}", ""]  # a part without its own title gets the package's
        # Demote the part's own headings one level so they nest under ours.
        body = "\n".join("#" + line if line.startswith("#") else line for line in body.splitlines())
        body = _rebase_links(body, package)
        lines += [body, ""]
        artefacts = sorted(p for p in part.rglob("*") if p.suffix in {".csv", ".png"})
        if artefacts:
            lines.append(
                "Files: "
                + ", ".join(f"[{p.relative_to(part)}]({p.relative_to(reports)})" for p in artefacts)
            )
            lines.append("")
    if missing:
        lines += [
            "## Not in this report",
            "",
            "No quick reproduction (yet) for: " + ", ".join(missing) + ".",
            "",
        ]
    target = reports / "README.md"
    handle, temporary = tempfile.mkstemp(dir=reports, prefix=".README.", suffix=".md")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write("\n".join(lines))
    os.replace(temporary, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", type=Path, nargs="?", default=Path("reports"))
    args = parser.parse_args(argv)
    try:
        target = assemble(args.reports)
    except FileNotFoundError as error:
        print(f"assemble_report: {error}", file=sys.stderr)
        return 1
    print(f"report written to {target.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
