"""The NumPy-only process: where a task that says "in NumPy" is run and called, with nothing but NumPy
and the standard library to import (the sandbox that starts it: course/grading/sandbox.py,
`numpy_only_command`; what starts it: course/grading/execute.py).

    python -I -S numpy_only.py REQUEST OUTPUTS

REQUEST is a Request as JSON: the student's code up to the task's test cell, the names the task
defines, the grader's code that calls them (course/lectures/numpy_calls.py, as text), the inputs
drawn for this grading. OUTPUTS gets {function: what it gave on each input}, as
course_kernel.handover.describe gives a function's outputs, or {function: a Refusal as a dict}
where the task's code could not be run here. The verifier compares the outputs with the reference.

Each top-level statement of the student's code runs on its own, in order. One that fails is set
aside (it tried the function on the notebook's data, say, which is not here), unless it binds one of
the task's names: then the task fails, for its name would not mean at the test cell what runs with
NumPy alone. IPython's magics arrive as calls of `get_ipython()` (IPython's own transformation):
the code of `%time`, `%timeit` and `%%capture` runs as statements, other magics do nothing.

This file imports nothing but NumPy and the standard library: it runs alone beside the student's
code, which can read it; nothing here is an answer.
"""

import __future__

import ast
import builtins
import dataclasses
import json
import sys

import numpy as np


@dataclasses.dataclass
class Request:
    cells: list  # the student's code cells before the task's test cell, in order, as Python
    names: list  # what the task's code must define (a function or class name)
    calls: str  # the grader's code that calls them: course/lectures/numpy_calls.py
    inputs: dict  # {function the verifier checks: [{"args": [...], "kwargs": {...}}]}
    reference: str | None = None  # the grader's im2col and col2im, for scratch_cnn's layers


@dataclasses.dataclass
class Refusal:
    """Why the task's code did not run with NumPy alone."""

    name: str  # the task's name it concerns
    statement: str = ""  # the statement that failed, as written ("" when the name is never defined)
    error: str = ""  # what it raised
    kind: str = "refused"


class _TaskStatementFailed(Exception):
    def __init__(self, refusal: Refusal):
        super().__init__(refusal.name)
        self.refusal = refusal


def bound_names(statement: ast.stmt) -> set:
    """The names a top-level statement binds in the notebook's namespace (not in the functions or
    classes it defines)."""
    names, pending = set(), [statement]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            pending.extend(node.decorator_list)
            continue
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
        pending.extend(ast.iter_child_nodes(node))
    return names


class Notebook:
    """The student's code run statement by statement in one namespace, as the task's names require."""

    def __init__(self, names):
        self.names = set(names)
        self.flags = 0  # what `from __future__ import ...` has turned on, for the statements after it, as IPython does
        self.namespace = {"__name__": "__main__", "__builtins__": builtins, "np": np, "get_ipython": lambda: self}

    def run(self, source: str, label: str) -> None:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            return  # the kernel ran none of it either
        for statement in tree.body:
            if isinstance(statement, ast.ImportFrom) and statement.module == "__future__":
                for alias in statement.names:
                    self.flags |= getattr(getattr(__future__, alias.name, None), "compiler_flag", 0)
            code = compile(ast.Module([statement], type_ignores=[]), label, "exec", flags=self.flags, dont_inherit=True)
            try:
                exec(code, self.namespace)
            except _TaskStatementFailed:
                raise
            except BaseException as error:  # SystemExit too: the statement failed
                binds = sorted(bound_names(statement) & self.names)
                if binds:
                    text = ast.get_source_segment(source, statement) or ""
                    raise _TaskStatementFailed(Refusal(binds[0], text[:300], _error_text(error))) from None

    # What IPython's transformation calls: the code of timing and capturing magics runs, the rest does nothing.
    def run_line_magic(self, magic, line, *args):
        if magic in ("time", "timeit"):
            self.run(_without_options(line), f"%{magic}")

    def run_cell_magic(self, magic, line, cell, *args):
        if magic in ("time", "timeit", "capture"):
            self.run(cell, f"%%{magic}")

    def system(self, *args, **kwargs):
        return None

    getoutput = system


def _without_options(line: str) -> str:
    """`%timeit -n 3 f(x)` → `f(x)`: the magic's options dropped."""
    rest = line.lstrip()
    while rest.startswith("-"):
        option, _, rest = rest.partition(" ")
        if option in ("-n", "-r"):  # options with a value
            _, _, rest = rest.lstrip().partition(" ")
        rest = rest.lstrip()
    return rest


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:300]


def plain(value):
    """`value` as JSON data: numbers, strings, lists and dicts."""
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    try:
        return plain(np.asarray(value).tolist())
    except Exception:
        return {"unreadable": type(value).__name__}


def arguments(case: dict) -> list:
    """A case's arguments as a function gets them: JSON lists as NumPy arrays, {"tuple": [...]} as a
    tuple (a shape), anything else as it is (course_kernel.handover.arguments, the kernel's copy)."""
    def argument(value):
        if isinstance(value, list):
            return np.array(value, dtype=float)
        if isinstance(value, dict) and "tuple" in value:
            return tuple(value["tuple"])
        return value
    return [argument(value) for value in case["args"]]


def outputs(function, cases: list) -> dict:
    results = []
    for case in cases:
        try:
            results.append({"output": plain(np.asarray(function(*arguments(case), **case.get("kwargs", {}))))})
        except BaseException as error:  # the student's function failed on this input (SystemExit too)
            results.append({"raised": _error_text(error)})
    return {"kind": "outputs", "outputs": results, "numpy_only": True}


def answer(request: Request) -> dict:
    """{function: its outputs on the request's inputs, or a Refusal as a dict}."""
    notebook = Notebook(request.names)
    try:
        for index, cell in enumerate(request.cells, 1):
            notebook.run(cell, f"<your cell {index}>")
        refusal = next((Refusal(name) for name in request.names if name not in notebook.namespace), None)
    except _TaskStatementFailed as failed:
        refusal = failed.refusal
    if refusal is not None:
        return {function: dataclasses.asdict(refusal) for function in request.inputs}
    calls = {"np": np}
    exec(request.calls, calls)
    reference = {}
    if request.reference:
        scope = {"np": np}
        exec(request.reference, scope)
        reference = {"im2col": scope["im2col"], "col2im": scope["col2im"]}
    return {function: outputs(calls["calling"](function, notebook.namespace, reference), cases)
            for function, cases in request.inputs.items()}


def main(argv) -> int:
    request_path, outputs_path = argv
    with open(request_path, encoding="utf-8") as file:
        request = Request(**json.load(file))
    result = json.dumps(answer(request))  # before anything is written: a student's exit leaves no file
    with open(outputs_path, "w", encoding="utf-8") as file:
        file.write(result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
