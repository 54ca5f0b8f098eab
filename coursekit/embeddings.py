"""Lab 08 (embeddings): vocabulary, the grader's word-similarity score, checks and plots.

No exercise is solved here: these are the lab's shared tools. ``wordsim_spearman`` is the
score the grader computes itself from the embeddings a notebook hands in.
"""

import collections

import numpy as np


def build_vocabulary(sentences, min_count: int):
    """Words seen at least ``min_count`` times, most frequent first (ties alphabetical).

    Args:
        sentences: iterable of sequences of words (str).

    Returns:
        (vocabulary: tuple of V words, counts: int64 array (V,) of their corpus counts).
    """
    counter = collections.Counter(word for sentence in sentences for word in sentence)
    kept = sorted((word for word, count in counter.items() if count >= min_count),
                  key=lambda word: (-counter[word], word))
    return tuple(kept), np.array([counter[word] for word in kept], dtype=np.int64)


def encode(sentences, vocabulary) -> list:
    """Each sentence as an int64 array of word ids; words outside the vocabulary are dropped."""
    index = {word: i for i, word in enumerate(vocabulary)}
    return [np.array([index[word] for word in sentence if word in index], dtype=np.int64) for sentence in sentences]


SUBSAMPLE = 1e-3


def subsample(ids, counts, rng, threshold: float = SUBSAMPLE) -> np.ndarray:
    """Mikolov's subsampling of frequent words (as word2vec's code does it): keep each
    occurrence of word w with probability min(1, sqrt(t / f_w) + t / f_w), f_w its share of
    the corpus. ``ids``: int array of one sentence; returns the ids kept, in order."""
    ids = np.asarray(ids, dtype=np.int64)
    frequency = np.asarray(counts, dtype=np.float64)[ids] / np.sum(counts)
    keep = np.minimum(1.0, np.sqrt(threshold / frequency) + threshold / frequency)
    return ids[rng.random(len(ids)) < keep]


def epoch_pairs(sentences, counts, window: int, rng, skipgram_pairs) -> np.ndarray:
    """One epoch's (center, context) pairs: each sentence subsampled anew, then
    ``skipgram_pairs(sentence, window)``. Returns int64 (n_pairs, 2)."""
    pairs = [as_pairs(skipgram_pairs(subsample(sentence, counts, rng), window)) for sentence in sentences]
    return np.concatenate(pairs).astype(np.int64)


def as_pairs(found) -> np.ndarray:
    """An answer of ``skipgram_pairs`` as an int64 (n, 2) array (an empty list gives (0, 2)).

    Raises:
        ValueError: the answer is not a list of pairs of integers.
    """
    array = np.asarray(found)
    if array.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"expected an array of (center, context) pairs shaped (n, 2), found shape {array.shape}")
    if array.dtype.kind not in "iu":
        raise ValueError(f"expected integer word ids, found dtype {array.dtype}")
    return array.astype(np.int64)


def sorted_pairs(pairs) -> np.ndarray:
    """(n, 2) pairs sorted by center, then context: the order does not matter to the lab."""
    pairs = as_pairs(pairs)
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]


def unit_rows(vectors) -> np.ndarray:
    """float64 (V, d) rows scaled to length 1 (rows of zeros stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def wordsim_spearman(vectors, vocabulary, word_pairs):
    """Spearman's rho between cosine similarity and the human scores of the pairs in the vocabulary.

    Args:
        vectors: (V, d) one embedding per word of ``vocabulary``.
        vocabulary: sequence of V words.
        word_pairs: (word1, word2, human score) triples, e.g. ``dataset.word_pairs``.

    Returns:
        (rho: float, pairs used: int).
    """
    from scipy.stats import spearmanr

    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2 or vectors.shape[0] != len(vocabulary):
        raise ValueError(f"expected one vector per word: ({len(vocabulary)}, d), found shape {vectors.shape}")
    index = {word: i for i, word in enumerate(vocabulary)}
    kept = [(index[a], index[b], score) for a, b, score in word_pairs if a in index and b in index]
    if len(kept) < 3:
        return 0.0, len(kept)
    unit = unit_rows(vectors)
    cosine = [float(unit[a] @ unit[b]) for a, b, _ in kept]
    rho = spearmanr(cosine, [score for *_, score in kept]).statistic
    return (0.0 if not np.isfinite(rho) else float(rho)), len(kept)


def analogy_questions(analogies, vocabulary, limit: int | None = None) -> list:
    """The analogy questions whose four words are all in the vocabulary (the first ``limit``)."""
    known = set(vocabulary)
    usable = [question for question in analogies if all(word in known for word in question)]
    return usable[:limit]


# ------------------------------------------------------------------ the SGNS model's check


def sgns_model_problem(model, vocab_size: int, dim: int, negatives: int) -> str | None:
    """What is wrong with an SGNS model, in words, or None.

    The model must take ``[center (batch, 1) int, contexts (batch, negatives + 1) int]``, hold two
    Embedding layers of shape (vocab_size, dim) -- "target" for the centre word, "context" for
    the others -- and output the dot products (batch, negatives + 1). The check loads fixed
    random matrices into the two embeddings and compares the outputs with NumPy's dot products.
    """
    import keras

    if model is None or not hasattr(model, "layers"):
        return f"expected a keras.Model, found {type(model).__name__}"
    try:
        shapes = [tuple(tensor.shape[1:]) for tensor in model.inputs]
    except (AttributeError, TypeError, ValueError):
        return "the model has no defined inputs; start it with keras.Input(shape=...)"
    expected_shapes = [(1,), (negatives + 1,)]
    if shapes != expected_shapes:
        return f"model inputs: expected shapes {expected_shapes} (center, contexts), found {shapes}"
    embeddings = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.Embedding):
            embeddings[layer.name] = layer
    if sorted(embeddings) != ["context", "target"]:
        return f"expected two Embedding layers named 'target' and 'context', found {sorted(embeddings) or 'none'}"
    for name, layer in embeddings.items():
        found = tuple(np.shape(layer.get_weights()[0])) if layer.get_weights() else None
        if found != (vocab_size, dim):
            return f"Embedding {name!r}: expected a ({vocab_size}, {dim}) matrix, found {found}"
    extra = model.count_params() - 2 * vocab_size * dim
    if extra:
        return f"the model should hold only the two embedding matrices; it has {extra} other parameters"
    generator = np.random.default_rng(808)
    target = generator.normal(0, 0.5, (vocab_size, dim)).astype("float32")
    context = generator.normal(0, 0.5, (vocab_size, dim)).astype("float32")
    saved = [embeddings["target"].get_weights(), embeddings["context"].get_weights()]
    embeddings["target"].set_weights([target])
    embeddings["context"].set_weights([context])
    centers = generator.integers(0, vocab_size, (6, 1)).astype("int32")
    contexts = generator.integers(0, vocab_size, (6, negatives + 1)).astype("int32")
    try:
        found = np.asarray(model([centers, contexts], training=False), dtype=np.float64)
    except Exception as error:  # a model that cannot run on the two inputs
        return f"the model failed on a batch [center (6, 1), contexts (6, {negatives + 1})]: {error}"
    finally:
        embeddings["target"].set_weights(saved[0])
        embeddings["context"].set_weights(saved[1])
    expected = np.einsum("bd,bkd->bk", target[centers[:, 0]].astype(np.float64), context[contexts].astype(np.float64))
    if found.shape != expected.shape:
        return f"model output: expected shape (batch, {negatives + 1}) of dot products, found {found.shape[1:]}"
    if not np.allclose(found, expected, atol=1e-3, rtol=1e-4):
        worst = float(np.max(np.abs(found - expected)))
        return ("with fixed embeddings, the outputs are not the dot products <target[center], context[c]> "
                f"(largest difference {worst:.3g}); no activation, no normalisation")
    return None


def check_sgns_model(model, vocab_size: int, dim: int, negatives: int) -> None:
    """Visible check of ``build_sgns_model``'s result (see ``sgns_model_problem``)."""
    from coursekit.checks import CheckFailed

    problem = sgns_model_problem(model, vocab_size, dim, negatives)
    if problem:
        raise CheckFailed(problem)
    print(f"OK SGNS model: inputs (1,) and ({negatives + 1},), embeddings ({vocab_size}, {dim}) x 2, "
          "outputs the dot products")


# ------------------------------------------------------------------ Kim's CNN, in words


def kim_cnn_specs(vocab_size: int, length: int, dim: int, widths, filters: int, dropout: float,
                  n_classes: int) -> list:
    """The Kim (2014) CNN of the task as ``LayerSpec``s (settings, output shapes, parameters):
    Embedding -> one Conv1D(filters, width, relu) + GlobalMaxPooling1D per width -> Concatenate
    -> Dropout -> Dense(n_classes, softmax)."""
    import keras

    from coursekit.model_diff import LayerSpec, _layer_settings

    def layer(kind, output_shape, params, inputs, **settings):
        # the settings exactly as ``summarize`` reads them from a layer of this kind
        return LayerSpec(kind, _layer_settings(getattr(keras.layers, kind)(**settings)), output_shape, params, inputs)

    layers = [layer("Embedding", (None, length, dim), vocab_size * dim, (-1,), input_dim=vocab_size, output_dim=dim)]
    pooled = []
    for width in widths:
        layers.append(layer("Conv1D", (None, length - width + 1, filters), (width * dim + 1) * filters,
                            (0,), filters=filters, kernel_size=width, activation="relu"))
        layers.append(layer("GlobalMaxPooling1D", (None, filters), 0, (len(layers) - 1,)))
        pooled.append(len(layers) - 1)
    features = filters * len(widths)
    layers.append(layer("Concatenate", (None, features), 0, tuple(pooled)))
    layers.append(layer("Dropout", (None, features), 0, (len(layers) - 1,), rate=dropout))
    layers.append(layer("Dense", (None, n_classes), (features + 1) * n_classes, (len(layers) - 1,),
                        units=n_classes, activation="softmax"))
    return layers


def branch_widths(model) -> list:
    """The kernel widths of the Conv1D branches, in the order the Concatenate takes them."""
    from coursekit.model_diff import summarize

    summary = summarize(model)
    merges = [layer for layer in summary if layer.kind == "Concatenate"]
    widths = []
    for index in merges[0].inputs if merges else ():
        feed = summary[index]
        while feed.kind != "Conv1D" and feed.inputs and feed.inputs[0] >= 0:
            feed = summary[feed.inputs[0]]
        widths.append(feed.settings_dict.get("kernel_size", (None,))[0])
    return widths


def kim_cnn_problem(model, vocab_size: int, length: int, dim: int, widths, filters: int, dropout: float,
                    n_classes: int) -> str | None:
    """What is wrong with a Kim CNN, in words, or None (the visible and the hidden check's shared part)."""
    from coursekit.model_diff import describe_model, first_difference, summarize

    if model is None or not hasattr(model, "layers"):
        return f"expected a keras.Model, found {type(model).__name__}"
    try:
        shape = tuple(model.inputs[0].shape[1:])
    except (AttributeError, IndexError, TypeError, ValueError):
        return "the model has no defined input; start it with keras.Input(shape=(length,))"
    if shape != (length,):
        return f"model input: expected shape (batch, {length}) of token ids, found (batch, {', '.join(map(str, shape))})"
    expected = kim_cnn_specs(vocab_size, length, dim, widths, filters, dropout, n_classes)
    problem = first_difference(summarize(model), expected)
    if problem:
        return problem + "\nYour model, as the check sees it:\n" + describe_model(model)
    order = branch_widths(model)
    if list(order) != list(widths):
        return f"Concatenate the pooled branches in the order of widths {list(widths)}; yours come as {order}"
    return None


def check_kim_cnn(model, vocab_size: int, length: int, dim: int, widths, filters: int, dropout: float,
                  n_classes: int = 2) -> None:
    """Visible check of ``build_kim_cnn``'s result against the task's description."""
    from coursekit.checks import CheckFailed

    problem = kim_cnn_problem(model, vocab_size, length, dim, widths, filters, dropout, n_classes)
    if problem:
        raise CheckFailed(problem)
    print(f"OK Kim CNN: widths {list(widths)}, {filters} filters each, {model.count_params()} parameters")


# ------------------------------------------------------------------ plots


def plot_words(vectors, vocabulary, words, title="", ax=None):
    """The chosen words' vectors projected on their first two principal components."""
    import matplotlib.pyplot as plt

    index = {word: i for i, word in enumerate(vocabulary)}
    words = [word for word in words if word in index]
    points = unit_rows(np.asarray(vectors)[[index[word] for word in words]])
    points = points - points.mean(axis=0)
    _, _, axes = np.linalg.svd(points, full_matrices=False)
    xy = points @ axes[:2].T
    ax = ax or plt.gca()
    ax.scatter(xy[:, 0], xy[:, 1], s=12)
    for (x, y), word in zip(xy, words):
        ax.annotate(word, (x, y), fontsize=9, xytext=(3, 3), textcoords="offset points")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def plot_similarity_scatter(vectors, vocabulary, word_pairs, title="", ax=None):
    """Cosine similarity against the human score, one point per wordsim353 pair in the vocabulary."""
    import matplotlib.pyplot as plt

    index = {word: i for i, word in enumerate(vocabulary)}
    unit = unit_rows(vectors)
    kept = [(unit[index[a]] @ unit[index[b]], score) for a, b, score in word_pairs if a in index and b in index]
    ax = ax or plt.gca()
    if kept:
        cosine, human = zip(*kept)
        ax.scatter(human, cosine, s=10)
    ax.set_xlabel("human score (wordsim353)")
    ax.set_ylabel("cosine similarity")
    ax.set_title(title)
    return ax
