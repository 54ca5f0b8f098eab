"""One declaration per graded exercise: what to run, on what, and how to judge it.

A lab's ``exercises.py`` declares one subclass of ``Exercise`` per graded cell, named
as the cell's nbgrader ``grade_id``::

    class confusion(Exercise):
        '''confusion_matrix_from_counts on label pairs the notebook never shows.'''

        def inputs():                                  # fixed, seeded hidden inputs
            return {"cases": label_cases(seed=11)}

        def call(inputs, confusion_matrix_from_counts):  # the student's names
            return [confusion_matrix_from_counts(t, p, 10) for t, p in inputs["cases"]]

        def judge(outputs, inputs):                    # grader side only
            for case, ((t, p), found) in enumerate(zip(inputs["cases"], outputs)):
                compare(f"case {case + 1}", found, sklearn_confusion(t, p))

The three parts run in two places, with the same code:

- ``inputs`` and ``call`` run in the student's kernel. They import only NumPy, Keras,
  TensorFlow, SciPy and ``coursekit`` (the sandbox has nothing else), and may use
  module-level functions marked ``@probe_helper``. ``call``'s parameters after
  ``inputs`` are the names it takes from the notebook. It returns plain data: numbers,
  strings, arrays, lists and dicts of them, and Keras models of built-in layers. An
  answer that is a class or an object is returned as its trace (outputs, gradients,
  paths), never as itself.
- ``judge(outputs, inputs)`` runs where the grader is: in the kernel under plain
  ``nbgrader autograde`` (``autograder.check``), in the grader's own process under the
  batch grader (``autograder.batch``). It sees the outputs after they were saved and
  read back (``coursekit.probe``), so both graders judge exactly the same data. It raises
  ``Failure`` with a message for the student, or returns a report (a dict: scores,
  threshold, confusion matrix...) that feedback shows.
"""

import inspect

PROBE_HELPER = "__probe_helper__"


class Failure(AssertionError):
    """An exercise's answer is wrong; the message says how, in the student's terms.

    Attributes:
        report: what the judge measured before it failed (shown in feedback), or {}.
    """

    def __init__(self, message: str, report: dict | None = None):
        super().__init__(message)
        self.report = report or {}


def probe_helper(function):
    """Mark a module-level function that ``inputs`` or ``call`` use: it is copied into
    the probe that runs in the student's kernel, so it may import only what they may."""
    setattr(function, PROBE_HELPER, True)
    return function


class Exercise:
    """Base of every declaration; see the module docstring. Subclasses are never instantiated."""

    def __init_subclass__(cls, **keywords):
        super().__init_subclass__(**keywords)
        for part in ("inputs", "call", "judge"):
            function = cls.__dict__.get(part)
            if function is None:
                raise TypeError(f"exercise {cls.__name__!r} must define {part}()")
            if not isinstance(function, staticmethod):
                setattr(cls, part, staticmethod(function))
        parameters = list(inspect.signature(cls.call).parameters)
        if not parameters or parameters[0] != "inputs":
            raise TypeError(f"exercise {cls.__name__!r}: call's first parameter must be `inputs`")
        cls.names = tuple(parameters[1:])

    @classmethod
    def grade_id(cls) -> str:
        return cls.__name__


def declared(module) -> dict:
    """{grade_id: Exercise subclass} declared in ``module``, in source order."""
    found = [value for value in vars(module).values()
             if isinstance(value, type) and issubclass(value, Exercise) and value is not Exercise
             and value.__module__ == module.__name__]
    found.sort(key=lambda cls: inspect.getsourcelines(cls)[1])
    return {cls.grade_id(): cls for cls in found}


def helpers(module) -> list:
    """The module's ``@probe_helper`` functions, in source order."""
    found = [value for value in vars(module).values()
             if inspect.isfunction(value) and getattr(value, PROBE_HELPER, False)]
    return sorted(found, key=lambda function: inspect.getsourcelines(function)[1])
