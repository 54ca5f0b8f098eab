"""Lab 07 (recurrent networks): the reference equals Keras, typical wrong answers are caught with
their messages by the hidden and the visible checks, and the thresholds fail the shortcuts they guard."""

import json

import numpy as np
import pytest

from autograder.check import check
from autograder.exercise import Failure
from autograder.labs import reference as _lab_reference
from coursekit import recurrent
from lab_cells import run_check
from solution_text import REPO

LAB = "07-recurrent-networks"
reference = _lab_reference(LAB)


def _x(batch=3, steps=6, features=4, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, steps, features)).astype("float32")


# ------------------------------------------------------------------ the reference equals Keras


@pytest.mark.parametrize("kind", ["SimpleRNN", "GRU"])
def test_reference_cells_equal_keras(kind):
    weights = recurrent.random_cell_weights(kind, 4, 5, seed=11)
    forward = reference.simple_rnn_forward if kind == "SimpleRNN" else reference.gru_forward
    np.testing.assert_allclose(forward(_x(), *weights), recurrent.keras_hidden_states(kind, weights, _x()), atol=1e-5)


def test_reference_lstm_and_zero_peephole_equal_keras():
    weights = recurrent.random_cell_weights("LSTM", 4, 5, seed=12)
    keras_h, keras_c = recurrent.keras_lstm_states(weights, _x())
    h, c = reference.lstm_forward(_x(), *weights)
    np.testing.assert_allclose(h, keras_h, atol=1e-5)
    np.testing.assert_allclose(c[:, -1], keras_c, atol=1e-5)
    h, c = reference.peephole_lstm_step_by_step(_x(), weights[0], weights[1], np.zeros((3, 5)), weights[2])
    np.testing.assert_allclose(h, keras_h, atol=1e-5)


def test_gru_conventions_differ_so_the_judge_can_name_them():
    weights = recurrent.random_cell_weights("GRU", 4, 5, seed=13)
    keras_h = recurrent.keras_hidden_states("GRU", weights, _x())
    assert not np.allclose(reference.gru_forward(_x(), *weights, keras_z=False), keras_h, atol=1e-3)
    assert not np.allclose(reference.gru_forward(_x(), *weights, reset_after=False), keras_h, atol=1e-3)


def test_reference_gradient_by_distance_matches_central_differences_and_shows_vanishing():
    weights = recurrent.random_cell_weights("SimpleRNN", 2, 3, seed=14)
    layer = recurrent.keras_recurrent_layer("SimpleRNN", weights)
    x = _x(2, 6, 2, seed=14)
    np.testing.assert_allclose(reference.gradient_by_distance(layer, x),
                               recurrent.numerical_gradient_by_distance(layer, x), rtol=2e-2, atol=1e-3)
    import keras

    keras.utils.set_random_seed(0)
    x_long = _x(16, 30, 8, seed=1)
    rnn = reference.gradient_by_distance(keras.layers.SimpleRNN(32), x_long)
    bias = keras.initializers.Constant(np.concatenate([np.zeros(32), 3 * np.ones(32), np.zeros(64)]))
    lstm = reference.gradient_by_distance(keras.layers.LSTM(32, bias_initializer=bias, unit_forget_bias=False), x_long)
    assert rnn[25] / rnn[0] < 1e-3 < lstm[25] / lstm[0]
    assert recurrent.decay_per_step(lstm, 5, 25) > recurrent.decay_per_step(rnn, 5, 25) + 0.1


# ------------------------------------------------------------------ hidden checks


def test_hidden_checks_accept_the_reference():
    check(LAB, "simple_rnn", {"simple_rnn_forward": reference.simple_rnn_forward})
    check(LAB, "lstm", {"lstm_forward": reference.lstm_forward})
    check(LAB, "gru", {"gru_forward": reference.gru_forward})
    check(LAB, "peephole", {"peephole_lstm_forward": reference.peephole_lstm_step_by_step})
    check(LAB, "bptt", {"gradient_by_distance": reference.gradient_by_distance})
    check(LAB, "text_classifier", {"build_text_classifier": reference.build_text_classifier})
    check(LAB, "windows", {"make_windows": reference.make_windows})


def _lstm_gates_ifoc(x, kernel, recurrent_kernel, bias):
    """Gate blocks read in the order i, f, o, c (not Keras's i, f, c, o)."""
    order = np.concatenate([np.arange(0, 2), np.arange(3, 4), np.arange(2, 3)])
    units = recurrent_kernel.shape[0]
    columns = np.concatenate([np.arange(k * units, (k + 1) * units) for k in order])
    return reference.lstm_forward(x, kernel[:, columns], recurrent_kernel[:, columns], bias[columns])


def _peephole_output_sees_old_cell(x, kernel, recurrent_kernel, peephole, bias):
    """The output gate looks at C_{t-1} instead of C_t."""
    units = recurrent_kernel.shape[0]
    h, c = np.zeros((x.shape[0], units)), np.zeros((x.shape[0], units))
    hs, cs = [], []
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent_kernel + bias
        zi, zf, zc, zo = np.split(z, 4, axis=1)
        old = c
        c = reference.sigmoid(zf + peephole[1] * old) * old + reference.sigmoid(zi + peephole[0] * old) * np.tanh(zc)
        h = reference.sigmoid(zo + peephole[2] * old) * np.tanh(c)
        hs.append(h)
        cs.append(c)
    return np.stack(hs, 1), np.stack(cs, 1)


def _classifier_without_mask(vocabulary_size, length):
    import keras

    return keras.Sequential([keras.Input(shape=(length,), dtype="int32"), keras.layers.Embedding(vocabulary_size, 32),
                             keras.layers.Bidirectional(keras.layers.LSTM(16)), keras.layers.Dropout(0.5),
                             keras.layers.Dense(2, activation="softmax")])


def _classifier_with_gru(vocabulary_size, length):
    import keras

    return keras.Sequential([keras.Input(shape=(length,), dtype="int32"),
                             keras.layers.Embedding(vocabulary_size, 32, mask_zero=True),
                             keras.layers.Bidirectional(keras.layers.GRU(16)), keras.layers.Dropout(0.5),
                             keras.layers.Dense(2, activation="softmax")])


@pytest.mark.parametrize("grade_id, name, wrong, expected", [
    ("simple_rnn", "simple_rnn_forward",
     lambda x, kernel, recurrent_kernel, bias: reference.simple_rnn_forward(x, kernel, recurrent_kernel.T, bias),
     "hidden states vs keras.layers.SimpleRNN"),
    ("simple_rnn", "simple_rnn_forward",
     lambda x, kernel, recurrent_kernel, bias: reference.simple_rnn_forward(x, kernel, recurrent_kernel, bias)[:, -1],
     "expected shape (3, 7, 5), found (3, 5)"),
    ("lstm", "lstm_forward", _lstm_gates_ifoc, "hidden states h vs keras.layers.LSTM"),
    ("lstm", "lstm_forward", lambda *args: reference.lstm_forward(*args)[0], "lstm_forward should return 2 arrays"),
    ("gru", "gru_forward", lambda *args: reference.gru_forward(*args, keras_z=False),
     "you used Cho et al.'s convention h = (1 - z) h_prev + z h̃"),
    ("gru", "gru_forward", lambda *args: reference.gru_forward(*args, reset_after=False),
     "you applied r before the recurrent product"),
    ("peephole", "peephole_lstm_forward", _peephole_output_sees_old_cell, "cell states c: at index (0, 1, 0)"),
    ("bptt", "gradient_by_distance", lambda layer, x: reference.gradient_by_distance(layer, x)[::-1],
     "your norms are in time order"),
    ("text_classifier", "build_text_classifier", _classifier_without_mask,
     "the reference has Bidirectional() fed by Embedding(), the model input (2 inputs)"),
    ("text_classifier", "build_text_classifier", _classifier_with_gru, "parameters"),
    ("windows", "make_windows",
     lambda values, window: reference.make_windows(np.concatenate([[0.0], values]), window),
     "make_windows(series of 40 values, 1): x"),
])
def test_hidden_checks_reject_typical_wrong_answers(grade_id, name, wrong, expected, capsys):
    with pytest.raises(Failure) as failure:
        check(LAB, grade_id, {name: wrong})
    assert expected in str(failure.value), str(failure.value)


# ------------------------------------------------------------------ visible checks


def _cells(folder):
    (notebook,) = (REPO / folder / LAB).glob("*.ipynb")
    return json.loads(notebook.read_text())["cells"]


@pytest.fixture(scope="module")
def lab07():
    student = {cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"]) for cell in _cells("labs")}
    namespace = {}
    exec(student["cell-01"], namespace)  # imports and setup_lab
    for cell in _cells("solutions"):
        if cell["metadata"]["nbgrader"]["solution"]:
            exec("".join(cell["source"]), namespace)
    exec(student["simple_rnn"].split("check_array")[0], namespace)  # x_check, used by the later checks
    return student, namespace


def test_reference_answers_pass_the_visible_checks(lab07):
    source, base = lab07
    for test_id in ("simple_rnn", "lstm", "gru", "peephole", "bptt", "text_classifier", "windows"):
        exec(source[test_id], dict(base))


@pytest.mark.parametrize("test_id, wrong, expected", [
    ("gru", "gru_forward = lambda x, k, r, b: reference.gru_forward(x, k, r, b, keras_z=False)",
     "gru_forward vs keras.layers.GRU (reset_after=True): at index"),
    ("lstm", "lstm_forward = _lstm_gates_ifoc", "lstm_forward h vs keras.layers.LSTM: at index"),
    ("peephole", "peephole_lstm_forward = _peephole_output_sees_old_cell", "one unit, two steps: last cell state"),
    ("bptt", "gradient_by_distance = lambda layer, x: reference.gradient_by_distance(layer, x)[::-1]",
     "gradient_by_distance vs central differences (SimpleRNN): at index"),
    ("text_classifier", "build_text_classifier = _classifier_with_gru", "Bidirectional wraps: expected 'LSTM'"),
    ("text_classifier", "build_text_classifier = _classifier_without_mask", "Embedding mask_zero: expected True"),
    ("windows", "make_windows = lambda values, window: reference.make_windows(values[1:], window)",
     "x for [1, 2, 4, 7, 11, 16], window 3: expected shape (2, 3, 1), found (1, 3, 1)"),
])
def test_visible_checks_catch_typical_wrong_answers(lab07, test_id, wrong, expected):
    extra = {"reference": reference, "_lstm_gates_ifoc": _lstm_gates_ifoc,
             "_peephole_output_sees_old_cell": _peephole_output_sees_old_cell,
             "_classifier_with_gru": _classifier_with_gru, "_classifier_without_mask": _classifier_without_mask}
    message = run_check(lab07, test_id, wrong, extra)
    assert expected in message, message


# ------------------------------------------------------------------ thresholds guard the shortcuts


@pytest.mark.parametrize("budget", ["smoke", "full"])
def test_f1_thresholds_fail_untrained_networks_and_one_class(budget, monkeypatch):
    """On the offline sentences (review or news?), a one-class answer and five untrained networks
    stay below the held-out macro-F1 threshold, and the untrained ones below the training-fit
    threshold too; the online provisional thresholds are above chance (0.5)."""
    from sklearn.metrics import f1_score

    from autograder.judges import threshold_report
    from coursekit.lab import BUDGETS
    from coursekit.text_data import load_sentences

    import keras

    monkeypatch.setenv("COURSE_BUDGET", budget)
    dataset = load_sentences(mode="offline", budget=BUDGETS[budget], verbose=False)
    assert dataset.key == "subjectivity_offline"

    def held_out_f1(predicted):
        return float(f1_score(dataset.y_test, predicted, average="macro", labels=[0, 1], zero_division=0))

    for one_class in (0, 1):
        with pytest.raises(Failure, match="macro_f1 = 0.3333 .* is below"):
            threshold_report(LAB, "macro_f1", held_out_f1(np.full(len(dataset.y_test), one_class)), dataset,
                             about="(one class)")
    for seed in range(5):
        keras.utils.set_random_seed(seed)
        untrained = reference.build_text_classifier(len(dataset.vocabulary), dataset.length)
        with pytest.raises(Failure, match="fit_macro_f1 = .* is below"):
            threshold_report(LAB, "fit_macro_f1", reference.fit_macro_f1(untrained, dataset), dataset, about="(untrained)")
        with pytest.raises(Failure, match="macro_f1 = .* is below"):
            threshold_report(LAB, "macro_f1", held_out_f1(reference.predict_classes(untrained, dataset.x_test)),
                             dataset, about="(untrained)")
    table = json.loads((REPO / "solutions" / LAB / "thresholds.json").read_text())["metrics"]
    assert table["macro_f1"][f"imdb/{budget}"]["threshold"] > 0.5  # chance on balanced reviews
    assert table["fit_macro_f1"][f"imdb/{budget}"]["threshold"] > 0.5


@pytest.mark.parametrize("budget", ["smoke", "full"])
def test_skill_threshold_fails_the_naive_forecast_and_an_untrained_forecaster(budget, monkeypatch):
    import keras

    from autograder.judges import threshold_report
    from coursekit.series_data import load_co2

    monkeypatch.setenv("COURSE_BUDGET", budget)
    series = load_co2(verbose=False)
    naive = keras.Sequential([keras.Input((reference.WINDOW, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(1, kernel_initializer="zeros")])
    errors = reference.forecast_errors(naive, series)
    assert errors["skill"] == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(Failure, match="forecast_skill = 0.0000 .* is below"):
        threshold_report(LAB, "forecast_skill", errors["skill"], series, about="(naive)")
    for seed in range(3):
        keras.utils.set_random_seed(seed)
        skill = reference.forecast_errors(reference.build_forecaster(), series)["skill"]
        with pytest.raises(Failure, match="is below"):
            threshold_report(LAB, "forecast_skill", skill, series, about="(untrained)")
