"""Program of thought with a vote (Chen et al. 2023, PoT; Gao et al. 2023, PAL): N programs
written for the problem, each run in the sandbox; the majority of their results is the answer.
A program's node holds its code; its answer is what the code computed, or none with the reason.
"""

from __future__ import annotations

from core.events import ROOT, StepScored
from core.providers.base import GenerationRequest, Message
from core.verifiers.program import PROGRAM_PROMPT, PROGRAM_TOKENS, program_text
from core.verifiers.sandbox import run_program
from strategies.context import Choice, RunContext, Steps
from strategies.sampling import vote_groups


def program_of_thought(ctx: RunContext) -> Steps[Choice]:
    """N Python programs for the problem, run in a sandbox; majority vote on their results."""
    n = ctx.budget.n
    yield ctx.status(f"writing {n} programs to run and vote on")
    request = GenerationRequest(
        messages=(Message("system", PROGRAM_PROMPT), Message("user", ctx.problem.question)),
        n=n,
        max_tokens=PROGRAM_TOKENS,
        temperature=ctx.budget.temperature,
        top_p=ctx.budget.top_p,
        seed=ctx.budget.seed,
    )
    starts = ctx.starts(ROOT, n, "program")
    answers, stopped = yield from ctx.call_many([request], [starts])
    if stopped is not None:
        raise stopped
    completions = answers[0]
    yield ctx.status(f"running {len(completions)} programs in the sandbox")
    # The answer is what the code computed, never a number read from the code's text.
    results = [run_program(program_text(c.text)) for c in completions]
    nodes = yield from ctx.add_nodes(
        ROOT,
        [[c] for c in completions],
        "program",
        whole_answer=True,
        node_ids=[s.node_id for s in starts],
        answers=[r.value for r in results],
    )
    for node, result in zip(nodes, results, strict=True):
        ran = 1.0 if result.value is not None else 0.0
        yield ctx.emit(StepScored(node, ran, "sandbox", result.reason))
    groups = vote_groups(ctx, nodes)
    if not groups:
        return Choice(nodes[0], None, "no program computed an answer")
    answer, members = max(groups.items(), key=lambda item: len(item[1]))
    yield from ctx.select([members[0]], "majority of program results")
    return Choice(members[0], answer, f"majority of program results ({len(members)} of {n})")
