"""Lab 07's graded exercises, one declaration per nbgrader grade_id (see autograder/exercise.py).

The cells are judged against Keras's own layers loaded with the same weights (the GRU also
against the two conventions a student may have followed instead, to say which one), the
peephole cell against the reference's step-by-step loop, the BPTT gradients against the
reference's GradientTape on the same layers. The two trained models come back as models and
are scored in the grader's process on its own copy of the data.
"""

import keras
import numpy as np

from autograder.exercise import Exercise, Failure, probe_helper
from autograder.judges import classifier_report, grader_data, same_array, same_model, threshold_report

from . import LAB_ID, reference



# ------------------------------------------------------------ student side (probe helpers)


@probe_helper
def cell_weights(kind, features, units, seed):
    """Random weights of a SimpleRNN, LSTM, GRU or peephole LSTM, in Keras's layout, scaled so
    that the gates neither saturate nor stay at 0.5."""
    rng = np.random.default_rng(seed)
    blocks = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3, "Peephole": 4}[kind]
    weights = [rng.normal(0, 0.6, (features, blocks * units)), rng.normal(0, 0.6, (units, blocks * units))]
    if kind == "Peephole":
        weights.append(rng.normal(0, 0.6, (3, units)))
    weights.append(rng.normal(0, 0.4, (2, 3 * units) if kind == "GRU" else (blocks * units,)))
    return [w.astype("float32") for w in weights]


@probe_helper
def cell_inputs(kind, seed):
    """{"cases": [{"x", "weights"}, ...]}: the grader's sequences and weights for one cell; two cases
    (batch, steps, features, units) = (3, 7, 4, 5) and (2, 11, 6, 3): features != units catches transposes."""
    cases = []
    for number, (batch, steps, features, units) in enumerate(((3, 7, 4, 5), (2, 11, 6, 3))):
        rng = np.random.default_rng(seed + number)
        cases.append({"x": rng.normal(0, 1, (batch, steps, features)).astype("float32"),
                      "weights": cell_weights(kind, features, units, seed + 100 + number)})
    return {"cases": cases}


@probe_helper
def as_arrays(result, parts):
    """The student's return value as a list of ``parts`` float64 arrays (a tensor, a tuple...)."""
    items = list(result) if parts > 1 and isinstance(result, (tuple, list)) else [result]
    return [np.asarray(item, dtype=np.float64) for item in items]


@probe_helper
def recurrent_layer(kind, weights):
    """A built keras.layers.SimpleRNN or LSTM (last output only) holding ``weights``."""
    units = np.shape(weights[1])[0]
    layer = getattr(keras.layers, kind)(units)
    layer.build((None, None, np.shape(weights[0])[0]))
    layer.set_weights(weights)
    return layer


@probe_helper
def token_batch(vocabulary_size, length, seed=707):
    """int32 (6, length) token ids with 0-padding in front of rows of different lengths."""
    rng = np.random.default_rng(seed)
    batch = rng.integers(2, vocabulary_size, (6, length)).astype("int32")
    for row, padding in enumerate((0, 1, 3, 5, length // 2, length - 1)):
        batch[row, :padding] = 0
    return batch


# ------------------------------------------------------------------ grader side


def _arrays(outputs, parts, what):
    if not isinstance(outputs, list) or len(outputs) != parts:
        raise Failure(f"{what} should return {parts} arrays" if parts > 1 else f"{what} should return an array")
    return outputs


def _judge_cell(outputs, inputs, name, expected_of):
    if not isinstance(outputs, list) or len(outputs) != len(inputs["cases"]):
        raise Failure(f"{name}: expected one result per grader case, found {type(outputs).__name__}")
    for number, (case, found) in enumerate(zip(inputs["cases"], outputs), start=1):
        expected_of(case, found, f"{name} (grader case {number}, x {case['x'].shape})")


class simple_rnn(Exercise):
    """simple_rnn_forward against keras.layers.SimpleRNN with the same weights."""

    def inputs():
        return cell_inputs("SimpleRNN", 7100)

    def call(inputs, simple_rnn_forward):
        return [as_arrays(simple_rnn_forward(case["x"], *case["weights"]), 1)
                for case in inputs["cases"]]

    def judge(outputs, inputs):
        def expect(case, found, name):
            (h,) = _arrays(found, 1, name)
            same_array(f"{name}: hidden states vs keras.layers.SimpleRNN", h,
                       reference.keras_sequences("SimpleRNN", case["weights"], case["x"]), atol=1e-5)
        _judge_cell(outputs, inputs, "simple_rnn_forward", expect)


class lstm(Exercise):
    """lstm_forward against keras.layers.LSTM with the same weights (h at every step, last c)."""

    def inputs():
        return cell_inputs("LSTM", 7200)

    def call(inputs, lstm_forward):
        return [as_arrays(lstm_forward(case["x"], *case["weights"]), 2) for case in inputs["cases"]]

    def judge(outputs, inputs):
        def expect(case, found, name):
            h, c = _arrays(found, 2, f"{name}: lstm_forward")
            keras_h, keras_c = reference.keras_sequences("LSTM", case["weights"], case["x"])
            same_array(f"{name}: hidden states h vs keras.layers.LSTM", h, keras_h, atol=1e-5)
            if np.shape(c) != np.shape(h):
                raise Failure(f"{name}: the cell states should have the shape of h, {np.shape(h)}; "
                              f"found {np.shape(c)}")
            same_array(f"{name}: last cell state c_T vs keras.layers.LSTM's", c[:, -1], keras_c, atol=1e-5)
        _judge_cell(outputs, inputs, "lstm_forward", expect)


class gru(Exercise):
    """gru_forward against keras.layers.GRU(reset_after=True) with the same weights."""

    def inputs():
        return cell_inputs("GRU", 7300)

    def call(inputs, gru_forward):
        return [as_arrays(gru_forward(case["x"], *case["weights"]), 1) for case in inputs["cases"]]

    def judge(outputs, inputs):
        def expect(case, found, name):
            (h,) = _arrays(found, 1, name)
            weights, x = case["weights"], case["x"]
            expected = reference.keras_sequences("GRU", weights, x)
            if np.shape(h) == expected.shape and not np.allclose(h, expected, atol=1e-5):
                if np.allclose(h, reference.gru_forward(x, *weights, keras_z=False), atol=1e-5):
                    raise Failure(f"{name}: you used Cho et al.'s convention h = (1 - z) h_prev + z h̃; in Keras "
                                  "z keeps the old state: h = z ⊙ h_prev + (1 - z) ⊙ h̃")
                if np.allclose(h, reference.gru_forward(x, *weights, reset_after=False), atol=1e-5):
                    raise Failure(f"{name}: you applied r before the recurrent product, (r ⊙ h) U_h (reset_after="
                                  "False); Keras's default reset_after=True computes r ⊙ (h U_h + b'_h), with the "
                                  "second bias row inside")
            same_array(f"{name}: hidden states vs keras.layers.GRU", h, expected, atol=1e-5)
        _judge_cell(outputs, inputs, "gru_forward", expect)


class peephole(Exercise):
    """peephole_lstm_forward against a step-by-step peephole LSTM (Gers & Schmidhuber 2000)."""

    def inputs():
        return cell_inputs("Peephole", 7400)

    def call(inputs, peephole_lstm_forward):
        return [as_arrays(peephole_lstm_forward(case["x"], *case["weights"]), 2) for case in inputs["cases"]]

    def judge(outputs, inputs):
        def expect(case, found, name):
            h, c = _arrays(found, 2, f"{name}: peephole_lstm_forward")
            expected_h, expected_c = reference.peephole_lstm_step_by_step(case["x"], *case["weights"])
            same_array(f"{name}: cell states c", c, expected_c, atol=1e-5)
            same_array(f"{name}: hidden states h", h, expected_h, atol=1e-5)
        _judge_cell(outputs, inputs, "peephole_lstm_forward", expect)


class bptt(Exercise):
    """gradient_by_distance of a SimpleRNN and an LSTM against GradientTape on the same layers."""

    def inputs():
        rng = np.random.default_rng(7500)
        return {"x": rng.normal(0, 1, (5, 16, 3)).astype("float32"),
                "SimpleRNN": [w * 0.8 for w in cell_weights("SimpleRNN", 3, 6, 7501)],
                "LSTM": cell_weights("LSTM", 3, 6, 7502)}

    def call(inputs, gradient_by_distance):
        return {kind: np.asarray(gradient_by_distance(recurrent_layer(kind, inputs[kind]), inputs["x"]),
                                 dtype=np.float64)
                for kind in ("SimpleRNN", "LSTM")}

    def judge(outputs, inputs):
        for kind in ("SimpleRNN", "LSTM"):
            if not isinstance(outputs, dict) or kind not in outputs:
                raise Failure(f"gradient_by_distance gave nothing for the {kind}")
            expected = reference.gradient_by_distance(reference.keras_layer(kind, inputs[kind]), inputs["x"])
            found = outputs[kind]
            if np.shape(found) == expected.shape and np.allclose(found, expected[::-1], rtol=1e-4, atol=1e-7) \
                    and not np.allclose(found, expected, rtol=1e-4, atol=1e-7):
                raise Failure(f"gradient_by_distance ({kind}): your norms are in time order; element k should be "
                              "distance k from the last step (reverse them)")
            same_array(f"gradient_by_distance ({kind}, x {inputs['x'].shape})", found, expected,
                       atol=1e-6, rtol=1e-4)


class text_classifier(Exercise):
    """build_text_classifier against the reference (structure, shapes, outputs with the same weights)."""

    def inputs():
        return {"vocabulary_size": 97, "length": 13}

    def call(inputs, build_text_classifier):
        return build_text_classifier(inputs["vocabulary_size"], inputs["length"])

    def judge(outputs, inputs):
        size, length = inputs["vocabulary_size"], inputs["length"]
        same_model(outputs, reference.build_text_classifier(size, length), batch=token_batch(size, length))


class text_f1(Exercise):
    """The trained text_model: macro-F1 on the grader's held-out texts, and its fit on the training texts."""

    def inputs():
        return {}

    def call(inputs, text_model):
        return text_model

    def judge(outputs, inputs):
        dataset = grader_data(reference)
        if outputs is None or not hasattr(outputs, "layers"):
            raise Failure(f"text_model should be a trained keras.Model, found {type(outputs).__name__}")
        try:
            fit = reference.fit_macro_f1(outputs, dataset)
        except Exception as error:  # a model that does not take the token ids or outputs something else
            raise Failure(f"text_model could not classify the training texts ({type(error).__name__}: {error})")
        fit_report = threshold_report(
            LAB_ID, "fit_macro_f1", fit, dataset, threshold_name="the trained-network threshold",
            about=f"on {min(len(dataset.y_train), reference.FIT_TEXTS)} of the training texts of {dataset.description}")
        report = classifier_report(LAB_ID, reference.METRIC, outputs, dataset)
        return {**report, "fit_macro_f1": fit_report["score"], "fit_threshold": fit_report["threshold"]}


class windows(Exercise):
    """make_windows on a series and window lengths the notebook never shows."""

    def inputs():
        rng = np.random.default_rng(7600)
        return {"series": np.cumsum(rng.normal(0.1, 1.0, 40)), "windows": [1, 5, 12]}

    def call(inputs, make_windows):
        return [as_arrays(make_windows(inputs["series"], window), 2) for window in inputs["windows"]]

    def judge(outputs, inputs):
        if not isinstance(outputs, list) or len(outputs) != len(inputs["windows"]):
            raise Failure("make_windows should return (x, y) for each window length")
        for window, found in zip(inputs["windows"], outputs):
            x, y = _arrays(found, 2, f"make_windows(series, {window})")
            expected_x, expected_y = reference.make_windows(inputs["series"], window)
            same_array(f"make_windows(series of 40 values, {window}): x", x, expected_x, atol=1e-5)
            same_array(f"make_windows(series of 40 values, {window}): y", y, expected_y, atol=1e-5)


class forecast_skill(Exercise):
    """The trained forecaster: skill over the better naive baseline on the grader's held-out months."""

    def inputs():
        return {}

    def call(inputs, forecaster):
        return forecaster

    def judge(outputs, inputs):
        series = grader_data(reference, reference.METRIC_DATASETS["forecast_skill"])
        if outputs is None or not hasattr(outputs, "layers"):
            raise Failure(f"forecaster should be a trained keras.Model, found {type(outputs).__name__}")
        try:
            errors = reference.forecast_errors(outputs, series)
        except Exception as error:
            raise Failure(f"the forecaster could not forecast the held-out months from windows shaped "
                          f"(n, {reference.WINDOW}, 1) ({type(error).__name__}: {error})")
        about = (f"(mean absolute error {errors['model']:.3f} ppm vs naive {errors['naive']:.3f}, seasonal naive "
                 f"{errors['seasonal_naive']:.3f}) on the {len(series.test_values)} held-out months of {series.description}")
        report = threshold_report(LAB_ID, "forecast_skill", errors["skill"], series, about=about)
        return {**report, **{f"mae_{name}": round(value, 4) for name, value in errors.items() if name != "skill"}}
