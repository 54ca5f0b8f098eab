"""Generate a lab's probe cell from its exercise declarations.

The batch grader appends this cell to the student's notebook in the sandbox, where
nothing of the instructor side can be imported. It is built from ``exercises.py``'s
own source: the imports of modules the sandbox has, the ``@probe_helper`` functions, and
each exercise's ``inputs`` and ``call`` (never ``judge``, never the reference). Everything
is nested in one function, so no name of the student's is shadowed, and the student's
names are read from ``globals()`` as the notebook left them.
"""

import ast
import textwrap

from autograder import labs

SANDBOX_MODULES = {"numpy", "keras", "tensorflow", "scipy", "sklearn", "coursekit", "math", "itertools",
                   "functools", "collections", "string"}
PROBE_PARTS = ("inputs", "call")


class ProbeError(ValueError):
    """An exercise's student side uses something the sandbox cannot have."""


def _allowed_import(node) -> bool:
    if isinstance(node, ast.Import):
        return all(alias.name.split(".")[0] in SANDBOX_MODULES for alias in node.names)
    return node.level == 0 and (node.module or "").split(".")[0] in SANDBOX_MODULES


def _bound_names(node) -> set:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
        return {node.name}
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {name.id for target in targets for name in ast.walk(target) if isinstance(name, ast.Name)}
    return set()


def _is_helper(node) -> bool:
    return isinstance(node, ast.FunctionDef) and any(
        (isinstance(d, ast.Name) and d.id == "probe_helper") or (isinstance(d, ast.Attribute) and d.attr == "probe_helper")
        for d in node.decorator_list)


def _segment(source_lines: list, node) -> str:
    """The source of a function without its decorators, dedented."""
    return textwrap.dedent("".join(source_lines[node.lineno - 1:node.end_lineno]))


def _used_names(function) -> set:
    """Names a function's body and defaults read (not its decorators)."""
    parts = [*function.body, function.args]
    return {name.id for part in parts for name in ast.walk(part) if isinstance(name, ast.Name)}


def probe_source(lab_id: str, folder: str = "artifacts") -> str:
    """The probe cell's source for ``lab_id``.

    Raises:
        ProbeError: an ``inputs``, ``call`` or helper uses a module-level name that the
            probe would not carry (the reference, a constant, an instructor-only import).
    """
    path = labs.folder(lab_id) / "exercises.py"
    source = path.read_text()
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    imports, helpers, exercises, unavailable = [], [], [], {}
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if _allowed_import(node):
                imports.append(ast.get_source_segment(source, node))
            else:
                unavailable.update(dict.fromkeys(_bound_names(node), "an instructor-side import"))
        elif _is_helper(node):
            helpers.append(node)
        elif isinstance(node, ast.ClassDef) and any(getattr(base, "id", None) == "Exercise" for base in node.bases):
            parts = {item.name: item for item in node.body if isinstance(item, ast.FunctionDef)}
            exercises.append((node.name, [parts[name] for name in PROBE_PARTS if name in parts]))
        else:
            unavailable.update(dict.fromkeys(_bound_names(node), "a module-level name"))
    for name, parts in [(helper.name, [helper]) for helper in helpers] + exercises:
        for part in parts:
            for used in sorted(_used_names(part) & set(unavailable)):
                where = name if part.name == name else f"{name}.{part.name}"
                raise ProbeError(f"{path}: {where} uses {used!r}, "
                                 f"{unavailable[used]} the sandboxed probe cannot have; use a @probe_helper "
                                 f"or import it inside the function")
    body = [*imports, *(_segment(lines, helper) for helper in helpers)]
    for name, parts in exercises:
        inner = "\n".join(_segment(lines, part) for part in parts)
        body.append(f"def _{name}():\n{textwrap.indent(inner, '    ')}\n    return inputs, call\n")
    table = ", ".join(f"{name!r}: _{name}()" for name, _ in exercises)
    body.append(f"from coursekit.probe import run_probe\nrun_probe({{{table}}}, namespace, {folder!r})\n")
    return (f"# The grader's probe, generated from solutions/{lab_id}/exercises.py: it runs your code\n"
            f"# on the grader's inputs and saves what it returns for the grader to judge.\n"
            f"def _grader_probe(namespace):\n"
            + textwrap.indent("\n".join(body), "    ")
            + "\n\n_grader_probe(dict(globals()))\n")
