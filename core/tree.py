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
    NodeStarted,
    NodeStats,
    NodeText,
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
    def of_problem(cls, question: str) -> ReasoningTree:
        """The tree before its run: the problem alone."""
        tree = cls()
        tree.graph.nodes[ROOT]["text"] = question
        return tree

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
            case NodeStarted():
                self._add(event.node_id, event.parent_id, event.role, writing=True)
            case NodeText():
                node = self._node(event.node_id)
                if not (node["writing"] or node["written"]):
                    raise ValueError(f"text for node {event.node_id}, which is not being written")
                node["thinking" if event.thinking else "text"] += event.text
                # Done: written, awaiting its call's return; more text: written again.
                node.update(writing=not event.done, written=event.done)
            case NodeAdded():
                announced = event.node_id in g and (
                    g.nodes[event.node_id]["writing"] or g.nodes[event.node_id]["written"]
                )
                if not announced:
                    self._add(event.node_id, event.parent_id, event.role, writing=False)
                node = g.nodes[event.node_id]
                node.update(
                    text=event.text,
                    role=event.role,
                    writing=False,
                    written=False,
                    answer=event.answer,
                    thinking=event.thinking,
                    output_tokens=event.output_tokens,
                    confidence=event.confidence,
                )
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
                # Stopped mid-call: its text so far is kept. A written node keeps `written`:
                # its text is whole, but its call never returned it (no answer, no score).
                for node_id in self.writing():
                    g.nodes[node_id].update(writing=False, interrupted=True)

    def _add(self, node_id: str, parent_id: str, role: str, writing: bool) -> None:
        if parent_id not in self.graph:
            raise ValueError(f"node {node_id} refers to unknown parent {parent_id}")
        if node_id in self.graph:
            raise ValueError(f"node {node_id} was added twice")
        self.graph.add_node(
            node_id,
            text="",
            role=role,
            depth=self.graph.nodes[parent_id]["depth"] + 1,
            score=None,
            score_detail="",
            step_scores=(),
            pruned=False,
            selected=False,
            writing=writing,  # its model call is still running; text grows with NodeText
            written=False,  # its text is whole, its call not yet returned (NodeText done)
            interrupted=False,  # the run ended while it was being written: its text is partial
            answer=None,
            thinking="",
            correct=None,
            output_tokens=0,
            visits=0,
            value=None,
        )
        self.graph.add_edge(parent_id, node_id)

    def writing(self) -> list[str]:
        """Nodes whose text is being written right now."""
        return [n for n, data in self.graph.nodes(data=True) if data.get("writing")]

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
