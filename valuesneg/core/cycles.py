"""Graph search over wait-for edges: the dependency cycles a request may not close and the
cycles a refusal shows to have a deadlock broken by tier-break."""

from __future__ import annotations

from collections.abc import Set


def find_cycle(edges: Set[tuple[str, str]]) -> list[str]:
    """A dependency cycle as a path (first node repeated at the end), or [] if acyclic.

    Iterative, so a long chain of waits cannot exhaust the interpreter's recursion limit.
    """
    graph: dict[str, list[str]] = {}
    for waiter, waits_on in sorted(edges):
        graph.setdefault(waiter, []).append(waits_on)
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path, on_path = [start], {start}
        stack = [iter(graph.get(start, []))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                continue
            if nxt in on_path:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in done:
                path.append(nxt)
                on_path.add(nxt)
                stack.append(iter(graph.get(nxt, [])))
    return []


def reaches(edges: Set[tuple[str, str]], start: str, goal: str) -> bool:
    """Whether following wait-for edges from ``start`` arrives at ``goal``."""
    seen, todo = {start}, [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        for waiter, waits_on in edges:
            if waiter == node and waits_on not in seen:
                seen.add(waits_on)
                todo.append(waits_on)
    return False
