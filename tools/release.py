"""Release helper for the workspace's four distributions.

Each distribution is released on its own cycle by pushing a tag
``<package>-v<version>`` (``xcsvm-v0.2.0``). This script is what the release
workflow and a maintainer run to check that a release is consistent:

    python tools/release.py status              # versions and changelog state
    python tools/release.py check-tag xcsvm-v0.2.0

``check-tag`` prints ``package=<folder>`` and ``version=<version>`` (the
GitHub Actions output format) and exits non-zero, saying why, if the tag does
not name a package, disagrees with its ``pyproject.toml`` version, or the
package's ``CHANGELOG.md`` has no section for that version.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("shared-datasets", "xcsvm", "rbkernels", "innvestigate")
TAG = re.compile(r"^(?P<package>[a-z][a-z-]*)-v(?P<version>\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?)$")


class ReleaseError(Exception):
    """A release would be inconsistent."""


def project_version(package: str) -> str:
    with open(ROOT / package / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["project"]["version"]


def changelog_has(package: str, version: str) -> bool:
    text = (ROOT / package / "CHANGELOG.md").read_text(encoding="utf-8")
    return re.search(rf"^## \[?{re.escape(version)}\]?(\s|$)", text, flags=re.MULTILINE) is not None


def check_tag(tag: str) -> tuple[str, str]:
    match = TAG.match(tag)
    if match is None:
        raise ReleaseError(f"tag {tag!r} is not of the form <package>-v<X.Y.Z>, e.g. xcsvm-v0.2.0")
    package, version = match["package"], match["version"]
    if package not in PACKAGES:
        raise ReleaseError(f"tag {tag!r} names no package; valid packages: {', '.join(PACKAGES)}")
    declared = project_version(package)
    if declared != version:
        raise ReleaseError(
            f"tag says {package} {version} but {package}/pyproject.toml says {declared}; "
            "bump the version in pyproject.toml or fix the tag"
        )
    if not changelog_has(package, version):
        raise ReleaseError(
            f"{package}/CHANGELOG.md has no '## {version}' section; add the release notes first"
        )
    return package, version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "status", help="print each package's version and whether its changelog has it"
    )
    check = commands.add_parser("check-tag", help="validate a release tag")
    check.add_argument("tag")
    args = parser.parse_args(argv)
    if args.command == "status":
        for package in PACKAGES:
            version = project_version(package)
            state = "released notes" if changelog_has(package, version) else "unreleased"
            print(f"{package:16s} {version:10s} {state}")
        return 0
    try:
        package, version = check_tag(args.tag)
    except ReleaseError as error:
        print(f"release: {error}", file=sys.stderr)
        return 1
    print(f"package={package}")
    print(f"version={version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
