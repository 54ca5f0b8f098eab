"""Read what left the sandbox, safely: bounded, arrays without pickle, models without code.

Every file from a sandbox is hostile input. It is opened without following links, only
if it is a regular file, and read up to a limit; an array's size is read from its header
before any memory is allocated for it.

A ``.keras`` file is a zip of ``config.json``, ``metadata.json`` and ``model.weights.h5``.
Before Keras sees it, its config is read as plain JSON and every object in it must come
from Keras itself; anything else (a Lambda, a custom layer, a foreign module) is refused
with a message. Keras then loads it in safe mode. Nothing is ever unpickled.
"""

import hashlib
import io
import json
import os
import stat
import zipfile
from pathlib import Path

import numpy as np

from coursekit.probe import ARRAY, ERRORS_FILE, MODEL, UNSUPPORTED

MAX_MODEL_BYTES = 256 << 20
MAX_JSON_BYTES = 4 << 20
MAX_ARRAY_BYTES = 512 << 20  # all of one exercise's arrays together, once loaded
MODEL_MEMBERS = {"config.json", "metadata.json", "model.weights.h5"}
MAX_DECLARED_PARAMETERS = 100_000_000  # 400 MB of float32 weights: far above any lab's model
REFUSED_CLASSES = {"Lambda", "TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer"}


class ArtifactError(ValueError):
    """An artifact is missing, too large, altered or not allowed; the message says which."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, expected_hash: str) -> None:
    if not path.exists():
        raise ArtifactError(f"{path.name} is missing")
    if sha256(path) != expected_hash:
        raise ArtifactError(f"{path.name} changed after it was written")


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of a regular file, at most ``limit`` of them; never follows a link or
    opens a FIFO or device (``O_NOFOLLOW``, ``O_NONBLOCK``, then ``fstat``)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ArtifactError(f"{path.name} is missing") from None
    except OSError as error:
        raise ArtifactError(f"{path.name} cannot be opened ({error.strerror}; links are refused)") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise ArtifactError(f"{path.name} is not a regular file")
        if info.st_size > limit:
            raise ArtifactError(f"{path.name} is larger than {limit >> 20} MB")
        with os.fdopen(descriptor, "rb", closefd=False) as stream:
            return stream.read(limit + 1)[:limit]
    finally:
        os.close(descriptor)


def load_json(path: Path, limit: int = MAX_JSON_BYTES):
    """Parsed JSON from a bounded regular file; deep nesting is refused, not a crash."""
    raw = read_regular(path, limit)
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtifactError(f"{path.name} is not valid JSON ({error})") from None
    except RecursionError:
        raise ArtifactError(f"{path.name} is nested too deeply to be read") from None


def load_arrays(path: Path, limit: int = MAX_ARRAY_BYTES) -> dict:
    """{key: array} from an ``.npz`` file: numeric or string arrays only, no pickle, and no
    array is allocated before its header shows that all of them fit in ``limit`` bytes."""
    raw = read_regular(path, limit + (1 << 20))
    arrays, total = {}, 0
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            for member in archive.namelist():
                with archive.open(member) as stream:
                    version = np.lib.format.read_magic(stream)
                    if version not in ((1, 0), (2, 0)):
                        raise ArtifactError(f"{path.name}: {member} has an unknown array format {version}")
                    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                        np.lib.format.read_array_header_2_0
                    shape, _, dtype = read_header(stream)
                    if dtype.hasobject:
                        raise ArtifactError(f"{path.name}: {member} holds Python objects, which are not read")
                    total += int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
                    if total > limit:
                        raise ArtifactError(f"{path.name}: the arrays declare more than {limit >> 20} MB")
                with archive.open(member) as stream:
                    arrays[member.removesuffix(".npy")] = np.lib.format.read_array(stream, allow_pickle=False)
    except ArtifactError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, MemoryError) as error:
        raise ArtifactError(f"{path.name} cannot be read safely ({type(error).__name__}: {error})") from None
    return arrays


class Unsupported:
    """An output the probe could not save as plain data (a student object, a function...)."""

    def __init__(self, type_name: str):
        self.type_name = str(type_name)[:80]

    def __repr__(self) -> str:
        return f"<a {self.type_name} object, which is not plain data>"


def load_errors(folder: Path) -> dict:
    """{grade_id: error line} that the probe recorded; {} if it recorded none."""
    if not (folder / ERRORS_FILE).exists():
        return {}
    errors = load_json(folder / ERRORS_FILE, 1 << 20)
    if not isinstance(errors, dict):
        raise ArtifactError(f"{ERRORS_FILE} is not a mapping")
    return {str(key)[:200]: str(value)[:800] for key, value in errors.items()}


def load_outputs(folder: Path, name: str):
    """An exercise's outputs as ``coursekit.probe.save_outputs`` wrote them: JSON structure
    with arrays (``load_arrays``) and checked models (``load_model``) put back in place."""
    structure = load_json(folder / f"{name}.json")
    arrays = load_arrays(folder / f"{name}.npz") if (folder / f"{name}.npz").exists() else {}

    def decode(value, depth=0):
        if depth > 40:
            raise ArtifactError(f"{name}.json is nested too deeply")
        if isinstance(value, list):
            return [decode(item, depth + 1) for item in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {ARRAY}:
            if value[ARRAY] not in arrays:
                raise ArtifactError(f"{name}.npz lacks the array {str(value[ARRAY])[:40]!r}")
            return arrays[value[ARRAY]]
        if set(value) == {MODEL}:
            file_name = str(value[MODEL])
            if "/" in file_name or not file_name.startswith(f"{name}.") or not file_name.endswith(".keras"):
                raise ArtifactError(f"{name}.json names an unexpected model file {file_name[:60]!r}")
            return load_model(folder / file_name)
        if set(value) == {UNSUPPORTED}:
            return Unsupported(value[UNSUPPORTED])
        return {key: decode(item, depth + 1) for key, item in value.items()}

    return decode(structure)


def _objects(config):
    if isinstance(config, dict):
        if "class_name" in config:
            yield config
        for value in config.values():
            yield from _objects(value)
    elif isinstance(config, list):
        for value in config:
            yield from _objects(value)


KERAS_ACTIVATIONS = {"softmax", "relu", "sigmoid", "tanh", "elu", "selu", "gelu", "silu", "swish", "softplus",
                     "softsign", "leaky_relu", "relu6", "hard_sigmoid", "exponential", "linear", "log_softmax"}


def _same_activation_by_name(config):
    """Replace activation functions saved by reference (``tf.nn.softmax`` is saved as the
    builtin function ``softmax_v2``) by the name of the Keras activation they are."""
    if isinstance(config, list):
        return [_same_activation_by_name(item) for item in config]
    if not isinstance(config, dict):
        return config
    if config.get("class_name") == "function" and isinstance(config.get("config"), str):
        name = config["config"].removesuffix("_v2")
        if name in KERAS_ACTIVATIONS:
            return name
    return {key: _same_activation_by_name(value) for key, value in config.items()}


def check_model_file(path: Path) -> dict:
    """Refuse anything but a plain Keras model built from Keras's own layers.

    Returns:
        The model's config, without its compile settings (the grader loads it uncompiled)
        and with activations saved as functions put back as Keras's names.
    """
    if not path.exists():
        raise ArtifactError(f"no model was saved ({path.name} is missing)")
    if path.is_symlink() or not path.is_file():
        raise ArtifactError(f"{path.name} is not a regular file")
    if path.stat().st_size > MAX_MODEL_BYTES:
        raise ArtifactError(f"{path.name} is larger than {MAX_MODEL_BYTES >> 20} MB")
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
            if not members <= MODEL_MEMBERS or "config.json" not in members:
                raise ArtifactError(f"{path.name} holds unexpected files {sorted(members - MODEL_MEMBERS)}")
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, json.JSONDecodeError, KeyError, RecursionError) as error:
        raise ArtifactError(f"{path.name} is not a Keras model file ({type(error).__name__})") from None
    try:
        config = {key: value for key, value in config.items() if key != "compile_config"} \
            if isinstance(config, dict) else config  # loaded with compile=False: never built
        config = _same_activation_by_name(config)
        items = list(_objects(config))
    except RecursionError:
        raise ArtifactError(f"{path.name}: its config is nested too deeply") from None
    declared = declared_parameters(items)
    if declared > MAX_DECLARED_PARAMETERS:
        raise ArtifactError(f"{path.name} declares about {declared:,} weights, more than the grader builds "
                            f"({MAX_DECLARED_PARAMETERS:,}); no model in this course needs that many")
    for item in items:
        module = item.get("module") or "keras"
        if item.get("class_name") in REFUSED_CLASSES or not str(module).startswith("keras"):
            raise ArtifactError(
                f"the model uses {item.get('class_name')} from {module!r}; only Keras's built-in "
                "layers can be graded (no Lambda or custom layers in this lab)")
        if item.get("registered_name") and not str(item["registered_name"]).startswith(("keras", item.get("class_name", ""))):
            raise ArtifactError(f"the model uses the custom object {item['registered_name']!r}")
    return config


def declared_parameters(items: list) -> int:
    """An estimate, from the config alone, of the weights Keras would allocate to build
    the model: enough to refuse a small file that declares an enormous layer."""
    total = 0
    for item in items:
        config = item.get("config") if isinstance(item.get("config"), dict) else {}
        shape = (item.get("build_config") or {}).get("input_shape") if isinstance(item.get("build_config"), dict) else None
        last = shape[-1] if isinstance(shape, list) and shape and isinstance(shape[-1], int) else 1

        def number(name, default=0):
            value = config.get(name, default)
            return value if isinstance(value, int) and not isinstance(value, bool) else default

        kernel = config.get("kernel_size")
        kernel = kernel if isinstance(kernel, list) and all(isinstance(k, int) for k in kernel) else [1]
        size = 1
        for k in kernel:
            size *= max(k, 1)
        units, filters = number("units"), number("filters")
        total += 4 * (last + units) * units + size * last * filters + number("input_dim") * number("output_dim")
    return total


def load_model(path: Path):
    """Load a checked model with Keras's safe mode, uncompiled."""
    import keras

    config = check_model_file(path)
    try:
        with zipfile.ZipFile(path) as archive:
            original = json.loads(archive.read("config.json"))
        if config != original:  # load what was checked: the normalised config, the same weights
            normalised = path.with_name(path.stem + ".checked.keras")
            with zipfile.ZipFile(path) as source, zipfile.ZipFile(normalised, "w") as target:
                for member in source.namelist():
                    target.writestr(member, json.dumps(config) if member == "config.json" else source.read(member))
            path = normalised
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a bad file
        raise ArtifactError(f"the saved model cannot be loaded ({type(error).__name__}: {error})") from error
