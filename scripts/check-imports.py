#!/usr/bin/env python3
"""The package map says what the code does: every target's dependencies in Package.swift are exactly
the modules its Swift files import (toolchain modules aside). Run by scripts/test.sh.

    scripts/check-imports.py        # prints each mismatch and exits 1, or exits 0
"""
import json
import os
import re
import subprocess
import sys

# Modules of the toolchain and the platform, never declared as dependencies.
SYSTEM = {
    "Foundation", "FoundationEssentials", "FoundationNetworking", "Dispatch", "Glibc", "Musl", "Darwin",
    "Android", "WinSDK", "ucrt", "Synchronization", "Testing", "XCTest", "os", "Observation",
    "RegexBuilder", "_Concurrency", "Swift",
}
IMPORT = re.compile(r"^\s*(?:@\w+\s+)*import\s+(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?([A-Za-z_][A-Za-z0-9_]*)", re.M)


def main() -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    dump = subprocess.run(["swift", "package", "dump-package"], cwd=root, check=True, capture_output=True, text=True)
    package = json.loads(dump.stdout)
    problems = []
    for target in package["targets"]:
        if target["type"] in ("system", "binary", "plugin", "macro"):
            continue
        name = target["name"]
        path = target.get("path") or os.path.join("Tests" if target["type"] == "test" else "Sources", name)
        declared = set()
        for dep in target["dependencies"]:
            for kind in ("byName", "target", "product"):
                if kind in dep:
                    declared.add(dep[kind][0])
        imported = set()
        for folder, _, files in os.walk(os.path.join(root, path)):
            for file in files:
                if file.endswith(".swift"):
                    with open(os.path.join(folder, file), encoding="utf-8") as f:
                        imported.update(IMPORT.findall(f.read()))
        imported -= SYSTEM
        imported.discard(name)
        if missing := sorted(imported - declared):
            problems.append(f"{name}: imports {', '.join(missing)} without declaring it in Package.swift")
        if unused := sorted(declared - imported):
            problems.append(f"{name}: declares {', '.join(unused)} in Package.swift but imports none of it")
    for line in problems:
        print(f"check-imports: {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
