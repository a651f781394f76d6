"""Reading the chosen problem ahead (components/warm_up.py): a run on it then finds its whole
prompt in the embedded model's KV cache and prefills next to nothing."""

from dataclasses import replace

import pytest

from components.warm_up import read_problem
from core.providers.base import GenerationRequest
from strategies.steps import solve_messages

pytestmark = pytest.mark.model


def test_a_problem_read_ahead_leaves_its_run_one_prompt_token_to_read(local, pens):
    read = replace(pens, question="Ada packs 17 boxes of 23 apples and eats 4. How many are left?")
    unread = replace(pens, question="Bo rides 42 km a day for 9 days. How far does he ride?")
    read_problem(local, read)

    first, second = local.generate_many([GenerationRequest(solve_messages(read), 2, 4)])[0]
    assert first.usage.cached_tokens == first.usage.input_tokens - 1
    assert second.usage.cached_tokens == second.usage.input_tokens  # a copy of the first's
    (cold,) = local.generate(GenerationRequest(solve_messages(unread), 1, 4))
    # Only the system prompt is shared; the question's own tokens are read now.
    assert cold.usage.cached_tokens < cold.usage.input_tokens - 10
