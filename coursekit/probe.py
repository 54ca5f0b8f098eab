"""Run an exercise's ``call`` on the student's names and save what it returns as plain data.

This is the student-side half of a graded exercise (see ``autograder/exercise.py``): it
runs in the student's kernel, where the grader's own code cannot be trusted to be
untouched, so it does nothing but call and save. The saved files are all the grader
reads back:

    <folder>/<exercise>.json     the structure of the outputs, with arrays and models
                                 replaced by references; numbers and strings inline
    <folder>/<exercise>.npz      the arrays (numeric or string, never objects)
    <folder>/<exercise>.<n>.keras  each Keras model
    <folder>/errors.json         {exercise: "what went wrong"} for calls that failed

Nothing here is ever unpickled by the grader.
"""

import inspect
import json
import math
import os
import warnings

import numpy as np

ARRAY, MODEL, UNSUPPORTED = "__array__", "__model__", "__unsupported__"
ERRORS_FILE = "errors.json"


class MissingName(NameError):
    """A name the exercise needs is not defined in the notebook."""


def student_names(call, namespace: dict) -> dict:
    """The values of ``call``'s parameters after ``inputs``, taken from the notebook.

    Raises:
        MissingName: a name is not defined (its cell was never run, or was renamed).
    """
    names = list(inspect.signature(call).parameters)[1:]
    missing = [name for name in names if name not in namespace]
    if missing:
        raise MissingName(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not defined: "
                          "run the cell that defines it (keep the name the lab gives)")
    return {name: namespace[name] for name in names}


def _is_keras_model(value) -> bool:
    return type(value).__module__.startswith("keras") and hasattr(value, "layers") and hasattr(value, "save")


class _Encoder:
    """Turn outputs into JSON-able structure, collecting arrays and models on the way."""

    def __init__(self, folder: str, name: str):
        self.folder, self.name, self.arrays, self.models = folder, name, {}, 0

    def encode(self, value, depth: int = 0):
        if depth > 20:
            raise ValueError("the answer is nested more than 20 levels deep")
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return int(value)
        if isinstance(value, (float, np.floating)):
            number = float(value)
            return number if math.isfinite(number) else {ARRAY: self._array(np.asarray(number))}
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, dict):
            return {str(key): self.encode(item, depth + 1) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.encode(item, depth + 1) for item in value]
        if _is_keras_model(value):
            self.models += 1
            file_name = f"{self.name}.{self.models}.keras"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "saving a model not yet built" would go to stderr
                value.save(os.path.join(self.folder, file_name))
            return {MODEL: file_name}
        if isinstance(value, np.ndarray) or hasattr(value, "__array__"):
            array = np.asarray(value)
            if array.dtype.kind in "biufcUS":
                return {ARRAY: self._array(array)}
        return {UNSUPPORTED: type(value).__name__}

    def _array(self, array) -> str:
        key = f"a{len(self.arrays)}"
        self.arrays[key] = array
        return key


def save_outputs(outputs, folder: str, name: str) -> None:
    """Write ``outputs`` as ``<folder>/<name>.json`` (+ ``.npz`` and ``.keras`` files)."""
    os.makedirs(folder, exist_ok=True)
    encoder = _Encoder(folder, name)
    structure = encoder.encode(outputs)
    np.savez(os.path.join(folder, f"{name}.npz"), **encoder.arrays)
    with open(os.path.join(folder, f"{name}.json"), "w") as stream:
        json.dump(structure, stream)


def describe_error(error: BaseException) -> str:
    """One line for feedback: the exception's type and message, bounded."""
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return text[:800]


def run_probe(exercises: dict, namespace: dict, folder: str = "artifacts") -> dict:
    """Call every exercise on its inputs with the notebook's names; save outputs and errors.

    Args:
        exercises: {grade_id: (inputs, call)} functions, in the lab's order.
        namespace: the notebook's globals, as they were before the probe cell.
        folder: where to write the files (the grader collects it).

    Returns:
        {grade_id: error line} for the exercises whose call failed.
    """
    os.makedirs(folder, exist_ok=True)
    errors = {}
    for grade_id, (inputs, call) in exercises.items():
        try:
            outputs = call(inputs(), **student_names(call, namespace))
            save_outputs(outputs, folder, grade_id)
        except BaseException as error:  # the student's code may raise anything, even SystemExit
            errors[grade_id] = describe_error(error)
            for name in os.listdir(folder):  # a half-written answer (e.g. past the file-size limit)
                if name.startswith(f"{grade_id}."):
                    os.remove(os.path.join(folder, name))
    with open(os.path.join(folder, ERRORS_FILE), "w") as stream:
        json.dump(errors, stream)
    print(f"grader's probe: {len(exercises) - len(errors)} of {len(exercises)} exercises answered")
    return errors
