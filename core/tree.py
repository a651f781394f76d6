"""The reasoning tree: a networkx graph folded from the event stream."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import networkx as nx

from core.events import (
    ROOT,
    AnswerChosen,
    Event,
    NodeAdded,
    NodePruned,
    NodeSelected,
    NodeStats,
    RunFinished,
    RunStarted,
    Status,
    StepScored,
)


class ReasoningTree:
    """Root = the problem; every other node = one step or sample written by a real model call."""

    def __init__(self) -> None:
        self.graph = nx.DiGraph()
        self.graph.add_node(ROOT, text="", role="problem", depth=0, score=None, pruned=False)
        self.chosen: AnswerChosen | None = None
        self.finished: RunFinished | None = None
        self.started: RunStarted | None = None
        self.status = ""

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> ReasoningTree:
        tree = cls()
        for event in events:
            tree.apply(event)
        return tree

    def apply(self, event: Event) -> None:
        g = self.graph
        match event:
            case RunStarted():
                self.started = event
                g.nodes[ROOT]["text"] = event.question
            case NodeAdded():
                if event.parent_id not in g:
                    raise ValueError(
                        f"node {event.node_id} refers to unknown parent {event.parent_id}"
                    )
                g.add_node(
                    event.node_id,
                    text=event.text,
                    role=event.role,
                    depth=g.nodes[event.parent_id]["depth"] + 1,
                    score=None,
                    score_detail="",
                    step_scores=(),
                    pruned=False,
                    selected=False,
                    answer=event.answer,
                    thinking=event.thinking,
                    correct=None,
                    output_tokens=event.output_tokens,
                    visits=0,
                    value=None,
                )
                g.add_edge(event.parent_id, event.node_id)
            case StepScored():
                node = self._node(event.node_id)
                node["score"] = event.score
                node["score_detail"] = event.detail
                node["step_scores"] = tuple(event.step_scores) or (event.score,)
            case NodePruned():
                self._node(event.node_id)["pruned"] = True
            case NodeSelected():
                self._node(event.node_id)["selected"] = True
            case NodeStats():
                node = self._node(event.node_id)
                node["visits"] = event.visits
                node["value"] = event.value
            case AnswerChosen():
                if event.node_id is not None:
                    self._node(event.node_id)["correct"] = event.correct
                self.chosen = event
            case Status():
                self.status = event.text
            case RunFinished():
                self.finished = event

    def _node(self, node_id: str) -> dict[str, Any]:
        if node_id not in self.graph:
            raise ValueError(f"event refers to unknown node {node_id}")
        return self.graph.nodes[node_id]

    def path(self, node_id: str) -> list[str]:
        """Node ids from the first step down to `node_id` (the root excluded)."""
        return nx.shortest_path(self.graph, ROOT, node_id)[1:]

    def steps(self, node_id: str) -> list[str]:
        return [self.graph.nodes[n]["text"] for n in self.path(node_id)]

    def chosen_path(self) -> list[str]:
        if self.chosen is None or self.chosen.node_id is None:
            return []
        return self.path(self.chosen.node_id)

    def leaves(self) -> list[str]:
        return [n for n in self.graph if n != ROOT and self.graph.out_degree(n) == 0]

    def signature(self) -> list[tuple[str, str | None, tuple[tuple[str, Any], ...]]]:
        """A comparable description of the whole tree, to check that replays are identical."""
        g = self.graph
        rows = []
        for n in sorted(g.nodes):
            parents = list(g.predecessors(n))
            rows.append((n, parents[0] if parents else None, tuple(sorted(g.nodes[n].items()))))
        return rows

    def __len__(self) -> int:
        return self.graph.number_of_nodes()
