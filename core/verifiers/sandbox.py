"""Model-written Python, run where it can do no harm: asteval (a maintained evaluator made for
untrusted code: no imports, no dunder attributes, capped exponents) inside a child process with
CPU-time, memory and file-size limits and a wall-clock timeout.

`run_program(code)` never raises for what the code does; it returns the value of `answer` (or
of the last expression) or the reason there is none, in words fit for a step's detail.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from dataclasses import dataclass

MAX_CODE_CHARS = 4_000
CPU_SECONDS = 2
WALL_SECONDS = 6.0  # the child's start-up (importing asteval) plus its CPU allowance
MEMORY_BYTES = 512 * 2**20
MAX_VALUE_CHARS = 200

# Runs in the child with `python -I` (no site, no current directory on the path). File access:
# `open` is removed from the symbol table and RLIMIT_FSIZE forbids writing; `with` and imports
# are refused by asteval's configuration; print goes nowhere.
_CHILD = """
import io, json, sys
from asteval import Interpreter
from asteval.asteval import DEFAULT_CONFIG
config = {**DEFAULT_CONFIG, "with": False, "import": False, "importfrom": False}
interp = Interpreter(use_numpy=False, config=config, writer=io.StringIO(), err_writer=io.StringIO())
for name in ("open", "input", "help", "exit", "quit"):
    interp.symtable.pop(name, None)
value = interp.eval(sys.stdin.read(), show_errors=False, raise_errors=False)
if interp.error:
    kind, message = interp.error[0].get_error()
    lines = message.strip().splitlines() or [kind]
    print(json.dumps({"error": lines[-1]}))
else:
    answer = interp.symtable.get("answer", value)
    print(json.dumps({"value": None if answer is None else str(answer)}))
"""


@dataclass(frozen=True)
class ProgramResult:
    value: str | None  # the program's answer, as text
    reason: str  # what happened, in words: "computed 72", "refused: Import not supported"


def _limits() -> None:  # in the child, before it runs anything
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def run_program(code: str) -> ProgramResult:
    """Run untrusted `code`; its `answer` variable (else its last expression) is the value."""
    if not code.strip():
        return ProgramResult(None, "no program was written")
    if len(code) > MAX_CODE_CHARS:
        return ProgramResult(None, f"refused: the program is over {MAX_CODE_CHARS:,} characters")
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-c", _CHILD],
            input=code,
            capture_output=True,
            text=True,
            timeout=WALL_SECONDS,
            preexec_fn=_limits,
        )
    except subprocess.TimeoutExpired:
        return ProgramResult(None, f"stopped: still running after {WALL_SECONDS:g} s")
    if done.returncode != 0:
        killed = done.returncode < 0 or "MemoryError" in done.stderr
        why = "it ran out of its CPU time or memory" if killed else "it crashed"
        return ProgramResult(None, f"stopped: {why}")
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return ProgramResult(None, "stopped: the program gave no readable result")
    if "error" in result:
        return ProgramResult(None, f"refused: {result['error'][:MAX_VALUE_CHARS]}")
    value = result.get("value")
    if value is None:
        return ProgramResult(None, "the program set no answer")
    value = value[:MAX_VALUE_CHARS]
    return ProgramResult(value, f"the program computes {value}")
