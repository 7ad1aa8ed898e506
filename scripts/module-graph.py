#!/usr/bin/env python3
"""The crate's module graph from `cargo modules dependencies --lib` (DOT on
stdin): the `uses` edges between top-level modules, and between sibling
modules inside each, with any circle printed. Exit 1 when there is one.

    cargo modules dependencies --lib | scripts/module-graph.py

Items defined in a module's own file (`proxy::Proxy`, `config::Config`) are
the parent's: a child using its parent is not a circle.
"""
import collections
import re
import sys


def circles(edges):
    adj = collections.defaultdict(set)
    for a, b in edges:
        adj[a].add(b)
    found = set()
    for start in list(adj):
        stack, seen = [(start, (start,))], set()
        while stack:
            node, path = stack.pop()
            for nxt in adj[node]:
                if nxt == start:
                    i = path.index(min(path))
                    found.add(path[i:] + path[:i])
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + (nxt,)))
    return sorted(found)


def main():
    modules = set()
    edges = collections.defaultdict(set)
    for line in sys.stdin:
        m = re.match(r'\s*"([^"]+)" \[label=.*// "(?:mod|crate)" node', line)
        if m:
            modules.add(m.group(1))
        m = re.match(r'\s*"([^"]+)" -> "([^"]+)" \[label="uses"', line)
        if m:
            edges[m.group(1)].add(m.group(2))

    def owner(path):
        # The deepest module that holds the item (or is it).
        parts = path.split("::")
        while parts and "::".join(parts) not in modules:
            parts.pop()
        return parts

    top, inner = set(), collections.defaultdict(set)
    for a, bs in edges.items():
        for b in bs:
            pa, pb = owner(a), owner(b)
            if len(pa) < 2 or len(pb) < 2 or pa[0] != "misp_warden" or pb[0] != "misp_warden":
                continue
            if pa[1] != pb[1]:
                top.add((pa[1], pb[1]))
                continue
            # Siblings: the first level below their common parent.
            k = 1
            while k < min(len(pa), len(pb)) and pa[k] == pb[k]:
                k += 1
            if k < len(pa) and k < len(pb):
                inner["::".join(pa[:k])].add((pa[k], pb[k]))

    bad = False
    users = collections.defaultdict(set)
    for a, b in top:
        users[a].add(b)
    for a in sorted(users):
        print(f"{a} -> {', '.join(sorted(users[a]))}")
    for what, edge_set in [("crate", top)] + sorted(inner.items()):
        for c in circles(edge_set):
            bad = True
            print(f"circle in {what}: {' -> '.join(c + (c[0],))}")
    if not bad:
        print("no circle between modules, at any level")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
