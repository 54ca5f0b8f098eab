"""Describe Keras models in words and name the first way two models differ.

A model becomes a list of ``LayerSpec``: the layer's class, its key settings
(units, filters, kernel size, strides, padding, activation, pool size, dropout
rate, ...), its output shape, its parameter count and which earlier layers feed
it. Two such lists are compared in order for plain stacks of layers, or as
graphs (branches, concatenations, skip connections) when a model branches; the
graph comparison does not care in which order parallel branches were written.

    problem = first_difference(summarize(student_model), summarize(reference))
    # "layer 3: expected MaxPooling2D(pool_size=2×2), found Conv2D(64, 3×3, activation=relu)"

Visible checks in the labs compare a student's model with a written-down list of
``spec(...)`` entries (the task statement, in data); the grader's hidden checks
compare it with a reference model.
"""

import dataclasses
import hashlib

KEY_SETTINGS = (
    "units", "filters", "kernel_size", "pool_size", "strides", "padding", "dilation_rate",
    "depth_multiplier", "activation", "rate", "axis", "target_shape",
    "size", "epsilon", "momentum", "center", "scale", "use_bias", "return_sequences",
)
# Settings left out of a description when they hold Keras's default value.
QUIET_DEFAULTS = {
    "strides": (1, 1), "padding": "valid", "dilation_rate": (1, 1), "activation": "linear",
    "depth_multiplier": 1, "axis": -1, "use_bias": True, "center": True, "scale": True,
    "return_sequences": False,
}
# Layers whose inputs may come in any order without changing what they compute
# (up to the order of channels, for Concatenate).
ORDER_FREE_MERGES = {"Concatenate", "Add", "Multiply", "Average", "Maximum", "Minimum"}


def _normalize(value):
    if isinstance(value, list):
        return tuple(_normalize(item) for item in value)
    if isinstance(value, tuple):
        return tuple(_normalize(item) for item in value)
    if isinstance(value, float):
        return round(value, 6)
    return value


def _show(key, value):
    if isinstance(value, tuple) and all(isinstance(v, int) for v in value) and key != "target_shape":
        return "×".join(str(v) for v in value)
    return str(value)


@dataclasses.dataclass(frozen=True)
class LayerSpec:
    """One layer in words.

    Attributes:
        kind: the Keras class name, e.g. "Conv2D".
        settings: tuple of (name, value) pairs of key settings, sorted by name.
        output_shape: output shape with None for the batch, or None if unknown.
        params: number of parameters, or None if unknown.
        inputs: indices (into the same list) of the layers that feed this one;
            -1 stands for the model's input.
    """

    kind: str
    settings: tuple = ()
    output_shape: tuple | None = None
    params: int | None = None
    inputs: tuple = ()

    @property
    def settings_dict(self) -> dict:
        return dict(self.settings)

    def describe(self) -> str:
        """E.g. ``Conv2D(32, 3×3, activation=relu)`` or ``Dropout(rate=0.25)``."""
        settings = self.settings_dict
        parts = []
        for lead in ("filters", "units"):
            if lead in settings:
                parts.append(str(settings.pop(lead)))
        if "kernel_size" in settings:
            parts.append(_show("kernel_size", settings.pop("kernel_size")))
        quiet = dict(QUIET_DEFAULTS)
        if "pool_size" in settings:
            quiet["strides"] = settings["pool_size"]  # pooling's default stride is its pool size
        for key in KEY_SETTINGS:
            if key in settings and quiet.get(key, object()) != settings[key]:
                parts.append(f"{key}={_show(key, settings[key])}")
        return f"{self.kind}({', '.join(parts)})"


def spec(kind: str, inputs: tuple | None = None, **settings) -> LayerSpec:
    """A layer as the task describes it; only the settings given are checked.

    ``spec("Conv2D", filters=32, kernel_size=3, activation="relu")``

    For a graph (branches, merges), ``inputs`` names the layers that feed this one, by
    their index in the list of specs (-1: the model input); see ``model_from_specs``.
    """
    for key in ("kernel_size", "strides", "pool_size", "dilation_rate"):
        if isinstance(settings.get(key), int):
            settings[key] = (settings[key], settings[key])
    unknown = sorted(set(settings) - set(KEY_SETTINGS))
    if unknown:
        raise ValueError(f"spec() does not know the settings {unknown}; use {KEY_SETTINGS}")
    return LayerSpec(kind, tuple(sorted((k, _normalize(v)) for k, v in settings.items())),
                     inputs=tuple(inputs) if inputs is not None else ())


def model_from_specs(expected_layers: list, input_shape: tuple):
    """Build the Keras model a list of ``spec(...)`` describes, to compare a graph with.

    Each layer is built from its class name and settings, with Keras's defaults for the
    rest, and fed by the layers its ``inputs`` name (the previous layer when none are
    named). The last spec gives the model's output.

    Raises:
        ValueError: a spec names an unknown layer or an input that does not precede it.
    """
    import keras

    inputs = keras.Input(shape=tuple(input_shape))
    outputs = []
    for index, layer_spec in enumerate(expected_layers):
        feeds = layer_spec.inputs or (index - 1,)
        if any(feed >= index for feed in feeds):
            raise ValueError(f"spec {index} ({layer_spec.describe()}) is fed by a later layer {feeds}")
        layer_class = getattr(keras.layers, layer_spec.kind, None)
        if layer_class is None:
            raise ValueError(f"keras.layers has no layer {layer_spec.kind!r}")
        tensors = [inputs if feed < 0 else outputs[feed] for feed in feeds]
        outputs.append(layer_class(**layer_spec.settings_dict)(tensors if len(tensors) > 1 else tensors[0]))
    return keras.Model(inputs, outputs[-1])


def _layer_settings(layer) -> tuple:
    config = layer.get_config()
    if type(layer).__name__ == "MaxPooling2D" or "Pooling" in type(layer).__name__:
        config.setdefault("strides", config.get("pool_size"))
    chosen = {key: _normalize(config[key]) for key in KEY_SETTINGS if key in config}
    if chosen.get("activation") is not None and not isinstance(chosen["activation"], str):
        chosen["activation"] = getattr(chosen["activation"], "__name__", str(chosen["activation"]))
    return tuple(sorted(chosen.items()))


def summarize(model) -> list:
    """The model's layers (input layers left out) as a list of ``LayerSpec``."""
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    position = {id(layer): index for index, layer in enumerate(layers)}
    summary = []
    for layer in layers:
        inputs = []
        if layer._inbound_nodes:
            for tensor in layer._inbound_nodes[0].input_tensors:
                source = tensor._keras_history.operation
                inputs.append(position.get(id(source), -1))
        try:
            shape = tuple(layer.output.shape)
        except (AttributeError, ValueError):
            shape = None
        params = layer.count_params() if layer.built else None
        summary.append(LayerSpec(type(layer).__name__, _layer_settings(layer), shape, params, tuple(inputs)))
    return summary


def describe_model(model) -> str:
    """One numbered line per layer, as the checks count them."""
    return "\n".join(
        f"layer {index}: {layer.describe()} -> {layer.output_shape}, {layer.params} params"
        for index, layer in enumerate(summarize(model), start=1)
    )


def _compared_settings(layer: LayerSpec) -> tuple:
    """The settings that decide what a layer computes: a 1×1 convolution's padding is left
    out ('same' and 'valid' never pad a 1×1 kernel; transposed convolutions excepted)."""
    settings = layer.settings_dict
    if set(settings.get("kernel_size", (0,))) == {1} and "Transpose" not in layer.kind:
        settings.pop("padding", None)
    return tuple(sorted(settings.items()))


def _settings_problem(found: LayerSpec, expected: LayerSpec) -> bool:
    found_settings = dict(_compared_settings(found))
    return found.kind != expected.kind or any(
        found_settings.get(key) != value for key, value in _compared_settings(expected)
    )


def is_chain(summary: list) -> bool:
    """True when every layer is fed by exactly the layer before it."""
    return all(layer.inputs in ((index - 1,), ()) for index, layer in enumerate(summary))


def match_layers(found: list, expected: list):
    """Pair each expected layer with the student's layer that plays its part.

    Returns:
        (message or None, list of (found index, expected index) pairs). The
        message names the first structural difference; the pairs cover the
        layers matched before it.
    """
    if is_chain(found) and is_chain(expected):
        return _chain_difference(found, expected), [(i, i) for i in range(min(len(found), len(expected)))]
    return _graph_difference(found, expected)


def first_difference(found: list, expected: list, check_shapes: bool = True,
                     check_params: bool = True) -> str | None:
    """The first way ``found`` differs from ``expected``, in words; None if alike.

    Args:
        found: the student's layers, from ``summarize``.
        expected: the reference's layers, from ``summarize`` or ``spec``.
        check_shapes: also compare output shapes (where ``expected`` has them).
        check_params: also compare parameter counts (where ``expected`` has them).
    """
    problem, pairs = match_layers(found, expected)
    if problem:
        return problem
    for mine_index, their_index in sorted(pairs):
        mine, theirs = found[mine_index], expected[their_index]
        label = f"layer {mine_index + 1} ({mine.describe()})"
        if check_shapes and theirs.output_shape is not None and mine.output_shape != theirs.output_shape:
            return f"{label}: expected output shape {theirs.output_shape}, found {mine.output_shape}"
        if check_params and theirs.params is not None and mine.params != theirs.params:
            return f"{label}: expected {theirs.params} parameters, found {mine.params}"
    return None


def _chain_difference(found: list, expected: list) -> str | None:
    for index, (mine, theirs) in enumerate(zip(found, expected), start=1):
        if _settings_problem(mine, theirs):
            return f"layer {index}: expected {theirs.describe()}, found {mine.describe()}"
    if len(found) < len(expected):
        missing = ", ".join(layer.describe() for layer in expected[len(found):])
        return (f"expected {len(expected)} layers, found {len(found)}: after layer "
                f"{len(found)} the model should go on with {missing}")
    if len(found) > len(expected):
        extra = ", ".join(layer.describe() for layer in found[len(expected):])
        return (f"expected {len(expected)} layers, found {len(found)}: the model should "
                f"end after layer {len(expected)} but goes on with {extra}")
    return None


# ------------------------------------------------------------------ graphs


def _signatures(summary: list) -> list:
    """A hash per layer of its description and, recursively, of what feeds it."""
    signatures = {}

    def signature(index):
        if index < 0:
            return "input"
        if index not in signatures:
            layer = summary[index]
            feeds = [signature(i) for i in layer.inputs]
            if layer.kind in ORDER_FREE_MERGES:
                feeds = sorted(feeds)
            text = layer.kind + repr(_compared_settings(layer)) + "<-" + "|".join(feeds)
            signatures[index] = hashlib.sha1(text.encode()).hexdigest()
        return signatures[index]

    return [signature(index) for index in range(len(summary))]


def _fed_by(summary, layer) -> str:
    names = [summary[i].describe() if i >= 0 else "the model input" for i in layer.inputs]
    return ", ".join(names) if names else "nothing"


def _graph_difference(found: list, expected: list):
    """Match layers by what they are and what feeds them, regardless of branch order.

    Returns:
        (message or None, list of matched (found index, expected index) pairs).
    """
    found_signatures = _signatures(found)
    expected_signatures = _signatures(expected)
    unmatched = {}
    for index, signature in enumerate(found_signatures):
        unmatched.setdefault(signature, []).append(index)
    pairs, missing = [], []
    for index, signature in enumerate(expected_signatures):
        if unmatched.get(signature):
            pairs.append((unmatched[signature].pop(0), index))
        else:
            missing.append(index)
    still_free = sorted(i for indices in unmatched.values() for i in indices)

    def feeds(summary, signatures, layer):
        return sorted(signatures[i] if i >= 0 else "input" for i in layer.inputs)

    if missing:
        theirs = expected[missing[0]]
        where = f"the reference has {theirs.describe()} fed by {_fed_by(expected, theirs)}"
        wanted = feeds(expected, expected_signatures, theirs)
        same_place = [i for i in still_free if feeds(found, found_signatures, found[i]) == wanted]
        if same_place:
            return f"{where}; at that place your model has {found[same_place[0]].describe()}", pairs
        same_kind = [found[i] for i in still_free if found[i].kind == theirs.kind]
        if same_kind:
            mine = max(same_kind, key=lambda layer: len(layer.inputs))
            if len(theirs.inputs) > 1:
                return (f"{where} ({len(theirs.inputs)} inputs); your {mine.describe()} is fed "
                        f"by {_fed_by(found, mine)} ({len(mine.inputs)} inputs)"), pairs
            return f"{where}; your {mine.describe()} is fed by {_fed_by(found, mine)} instead", pairs
        return f"{where}; your model has no such layer", pairs
    if still_free:
        layer = found[still_free[0]]
        return (f"your model has a layer the reference does not: {layer.describe()} "
                f"fed by {_fed_by(found, layer)}"), pairs
    return None, pairs
