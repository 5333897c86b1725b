#!/usr/bin/env python3
"""Checks the shape of the library (docs/ARCHITECTURE.md, "Rules of the layout").

  1. node/core/ includes no subsystem header;
  2. no subsystem includes another subsystem's header, and nothing outside a
     subsystem's folder includes it, except the API thread including the
     subsystem's command header (*_cmd.h);
  3. no include cycle between folders;
  4. no C file of the library over 500 lines;
  5. no folder over 25 % of the library's lines.

Usage: scripts/check_layout.py [--verbose]   (exit 0 when every rule holds)
"""
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
LIBRARY = ["common", "discovery", "journal", "node"]  # the folders libweft is built from
SUBSYSTEMS = ["node/membership", "node/pubsub", "node/durable", "node/queues"]
MAX_LINES = 500
MAX_SHARE = 0.25
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder_of(path):
    """The room a file lives in: node/<room> for node files, else the top folder."""
    parts = path.split("/")
    if parts[0] == "node" and len(parts) > 2:
        return "node/" + parts[1]
    return parts[0]


def sources():
    """Every .c and .h of the library, as paths relative to ROOT."""
    for top in LIBRARY:
        for dirpath, _, names in os.walk(os.path.join(ROOT, top)):
            for name in sorted(names):
                if name.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, name), ROOT)


def cycles(graph):
    """The folder cycles of GRAPH (dict: folder -> set of folders), each once."""
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif not state.get(nxt):
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if not state.get(node):
            visit(node)
    return found


def main():
    verbose = "--verbose" in sys.argv
    errors = []
    graph, lines_of, lines_by_folder = {}, {}, {}
    for path in sources():
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            text = f.read()
        here = folder_of(path)
        count = text.count("\n")
        lines_of[path] = count
        lines_by_folder[here] = lines_by_folder.get(here, 0) + count
        for inc in INCLUDE.findall(text):
            if "/" not in inc:
                continue  # "weft.h" and local headers
            there = folder_of(inc)
            if there == here:
                continue
            graph.setdefault(here, set()).add(there)
            if here == "node/core" and there in SUBSYSTEMS:
                errors.append(f"{path}: the core includes a subsystem ({inc})")
            if there in SUBSYSTEMS and not (here == "node/api" and inc.endswith("_cmd.h")):
                errors.append(f"{path}: includes {inc}, inside another room")
    for cycle in cycles(graph):
        errors.append("include cycle between folders: " + " -> ".join(cycle))
    for path, count in sorted(lines_of.items()):
        if path.endswith(".c") and count > MAX_LINES:
            errors.append(f"{path}: {count} lines (limit {MAX_LINES})")
    total = sum(lines_of.values())
    for folder, count in sorted(lines_by_folder.items()):
        share = count / total if total else 0
        if verbose:
            print(f"  {folder:18} {count:6} lines  {share:5.1%}")
        if share > MAX_SHARE:
            errors.append(f"{folder}: {share:.0%} of the library's {total} lines (limit 25%)")
    if verbose:
        for folder in sorted(graph):
            print(f"  {folder} -> {', '.join(sorted(graph[folder]))}")
    for e in errors:
        print("layout: " + e)
    print(f"layout: {len(lines_of)} files, {total} lines, {len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
