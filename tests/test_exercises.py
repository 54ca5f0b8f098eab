"""The exercise contract's machinery: saving outputs as plain data, reading them back
safely, the generated probe, and the in-kernel check. Lab-agnostic; every lab's
declarations are also checked for what the contract asks of them."""

import json
import os
import threading
import zipfile

import numpy as np
import pytest

from autograder import labs
from autograder.batch.artifacts import ArtifactError, Unsupported, load_arrays, load_json, load_outputs, read_regular
from autograder.check import check
from autograder.exercise import Failure
from autograder.probe import ProbeError, probe_source
from coursekit.probe import run_probe, save_outputs

LABS = labs.all_labs()


def test_outputs_survive_the_round_trip_as_plain_data(tmp_path):
    outputs = {"shape": (3, 4), "mean": np.float32(0.5), "count": np.int64(7), "name": "uint8", "flag": True,
               "nan": float("nan"), "array": np.arange(6).reshape(2, 3), "nested": [{"x": np.ones(2)}, None],
               "object": object()}
    save_outputs(outputs, str(tmp_path), "ex")
    found = load_outputs(tmp_path, "ex")
    assert found["shape"] == [3, 4] and found["mean"] == 0.5 and found["count"] == 7 and found["flag"] is True
    assert found["name"] == "uint8" and np.isnan(found["nan"]) and found["nested"][1] is None
    np.testing.assert_array_equal(found["array"], np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(found["nested"][0]["x"], np.ones(2))
    assert isinstance(found["object"], Unsupported) and "object" in repr(found["object"])


def test_a_keras_model_comes_back_as_a_model(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    save_outputs({"model": model}, str(tmp_path), "ex")
    found = load_outputs(tmp_path, "ex")["model"]
    batch = np.ones((1, 3), np.float32)
    np.testing.assert_allclose(np.asarray(found(batch)), np.asarray(model(batch)), atol=1e-6)


def test_an_array_header_declaring_terabytes_is_refused_before_allocation(tmp_path):
    header = {"descr": "<f8", "fortran_order": False, "shape": (1 << 20, 1 << 20)}
    with zipfile.ZipFile(tmp_path / "ex.npz", "w") as archive:
        with archive.open("a0.npy", "w") as stream:
            np.lib.format.write_array_header_1_0(stream, header)
            stream.write(b"\0" * 64)
    with pytest.raises(ArtifactError, match="declare more than"):
        load_arrays(tmp_path / "ex.npz")


def test_deeply_nested_json_is_refused_not_a_crash(tmp_path):
    (tmp_path / "ex.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ArtifactError, match="nested too deeply"):
        load_json(tmp_path / "ex.json")


def test_a_link_or_a_fifo_is_never_opened(tmp_path):
    (tmp_path / "secret").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "secret")
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(ArtifactError, match="links are refused"):
        read_regular(tmp_path / "link", 100)
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(pytest.raises(ArtifactError, read_regular, tmp_path / "fifo", 100)))
    reader.start()
    reader.join(timeout=5)
    assert not reader.is_alive() and outcome, "reading a FIFO blocked"


def test_the_probe_records_a_failing_call_and_goes_on(tmp_path):
    def inputs():
        return {"x": np.arange(3)}

    def call(inputs, double):
        return double(inputs["x"])

    errors = run_probe({"ok": (inputs, call), "broken": (inputs, lambda inputs, missing: missing)},
                       {"double": lambda x: 2 * x}, str(tmp_path))
    assert "missing is not defined" in errors["broken"]
    np.testing.assert_array_equal(load_outputs(tmp_path, "ok"), [0, 2, 4])
    assert json.loads((tmp_path / "errors.json").read_text()) == errors


@pytest.mark.parametrize("lab", LABS)
def test_every_lab_has_a_probe_that_compiles(lab):
    source = probe_source(lab)
    compile(source, f"{lab} probe", "exec")
    assert "def judge" not in source and "autograder" not in source.split("\n", 2)[2] and "from ." not in source


@pytest.mark.parametrize("lab", LABS)
def test_every_declaration_has_deterministic_inputs(lab):
    for grade_id, exercise in labs.exercises(lab).items():
        first, second = tempfile_outputs(exercise.inputs()), tempfile_outputs(exercise.inputs())
        assert first == second, f"{lab}/{grade_id}: inputs() differ between calls"


def tempfile_outputs(value):
    """A comparable fingerprint of nested inputs (arrays by bytes)."""
    if isinstance(value, dict):
        return {key: tempfile_outputs(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [tempfile_outputs(item) for item in value]
    if isinstance(value, np.ndarray):
        return (value.shape, str(value.dtype), value.tobytes())
    if hasattr(value, "__dataclass_fields__"):
        return {name: tempfile_outputs(getattr(value, name)) for name in value.__dataclass_fields__}
    return repr(value) if callable(value) else value


def test_a_probe_that_uses_the_reference_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "99-toy"
    folder.mkdir()
    (folder / "toy.py").write_text("# %%\n")
    (folder / "exercises.py").write_text(
        "from autograder.exercise import Exercise\nfrom . import reference\n\n"
        "class x(Exercise):\n    def inputs():\n        return reference.INPUTS\n\n"
        "    def call(inputs, f):\n        return f(inputs)\n\n    def judge(outputs, inputs):\n        pass\n")
    monkeypatch.setattr(labs, "SOLUTIONS", tmp_path)
    with pytest.raises(ProbeError, match="x.inputs uses 'reference'"):
        probe_source("99-toy")


def test_the_in_kernel_check_names_a_missing_function():
    with pytest.raises(Failure, match="describe_data is not defined: run the cell that defines it"):
        check("02-fashion-mnist-cnn", "describe", {})


def test_the_in_kernel_check_reports_what_the_student_code_raised():
    def describe_data(data):
        raise NotImplementedError()

    with pytest.raises(Failure, match="hidden check describe: your code raised NotImplementedError"):
        check("02-fashion-mnist-cnn", "describe", {"describe_data": describe_data})
