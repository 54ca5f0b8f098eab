"""Read what left the sandbox, safely: arrays without pickle, models without code.

A ``.keras`` file is a zip of ``config.json``, ``metadata.json`` and ``model.weights.h5``.
Before Keras sees it, its config is read as plain JSON and every object in it must come
from Keras itself; anything else (a Lambda, a custom layer, a foreign module) is refused
with a message. Keras then loads it in safe mode. Nothing is ever unpickled.
"""

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

MAX_MODEL_BYTES = 256 << 20
MODEL_MEMBERS = {"config.json", "metadata.json", "model.weights.h5"}
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


def load_answers(path: Path) -> dict:
    """The probe's answers: numeric or string arrays only (``allow_pickle=False``)."""
    if not path.exists():
        raise ArtifactError("the notebook never reached the grader's probe (no answers were saved)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        raise ArtifactError(f"the saved answers cannot be read safely ({error})") from error


def _objects(config):
    if isinstance(config, dict):
        if "class_name" in config:
            yield config
        for value in config.values():
            yield from _objects(value)
    elif isinstance(config, list):
        for value in config:
            yield from _objects(value)


def check_model_file(path: Path) -> None:
    """Refuse anything but a plain Keras model built from Keras's own layers."""
    if not path.exists():
        raise ArtifactError(f"no model was saved ({path.name} is missing)")
    if path.stat().st_size > MAX_MODEL_BYTES:
        raise ArtifactError(f"{path.name} is larger than {MAX_MODEL_BYTES >> 20} MB")
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
            if not members <= MODEL_MEMBERS or "config.json" not in members:
                raise ArtifactError(f"{path.name} holds unexpected files {sorted(members - MODEL_MEMBERS)}")
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, json.JSONDecodeError, KeyError) as error:
        raise ArtifactError(f"{path.name} is not a Keras model file ({error})") from error
    for item in _objects(config):
        module = item.get("module") or "keras"
        if item.get("class_name") in REFUSED_CLASSES or not str(module).startswith("keras"):
            raise ArtifactError(
                f"the model uses {item.get('class_name')} from {module!r}; only Keras's built-in "
                "layers can be graded (no Lambda or custom layers in this lab)")
        if item.get("registered_name") and not str(item["registered_name"]).startswith(("keras", item.get("class_name", ""))):
            raise ArtifactError(f"the model uses the custom object {item['registered_name']!r}")


def load_model(path: Path):
    """Load a checked model with Keras's safe mode, uncompiled."""
    import keras

    check_model_file(path)
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a bad file
        raise ArtifactError(f"the saved model cannot be loaded ({type(error).__name__}: {error})") from error
