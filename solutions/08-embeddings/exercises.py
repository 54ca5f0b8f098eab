"""Lab 08's graded exercises, one declaration per nbgrader grade_id (see autograder/exercise.py).

The SGNS model and the Kim CNN come back as Keras models and are judged in the grader's process
with the same functions as the visible checks (``coursekit.embeddings``): the SGNS model by what
it computes with fixed embeddings, the Kim CNN by its graph (and branch order) and then against the
reference model under the same weights. The two trained results are scored by the grader on its
own copy of the data: the embeddings on wordsim353, the classifier on the held-out sentences.
"""

import numpy as np

from autograder.exercise import Exercise, Failure, probe_helper
from autograder.judges import classifier_report, field, grader_data, same_array, same_model, same_value, \
    threshold_report
from coursekit.embeddings import kim_cnn_problem, sgns_model_problem, sorted_pairs, wordsim_spearman

from . import LAB_ID, reference

NOISE_TOLERANCE = 0.01  # largest |frequency - probability| of 400 000 draws over 12 words (sd < 0.0008)


# ------------------------------------------------------------ student side (probe helpers)


@probe_helper
def hidden_sentences():
    """Sentences of word ids the notebook never shows: repeats, one word, none, two words."""
    return [np.array([4, 4, 2, 9, 4, 1, 0, 7, 2]), np.array([3]), np.zeros(0, dtype=np.int64), np.array([5, 6])]


@probe_helper
def hidden_counts():
    return np.array([900, 410, 400, 120, 64, 33, 20, 9, 5, 2, 1, 1])


@probe_helper
def hidden_vectors(n_words, dim, seed):
    """(vectors float64 (n_words, dim), vocabulary tuple of made-up words "w00", "w01", ...)."""
    vectors = np.random.default_rng(seed).normal(size=(n_words, dim))
    return vectors, tuple(f"w{i:02d}" for i in range(n_words))


# ------------------------------------------------------------------ grader side


def _listed(found, what, n):
    if not isinstance(found, (list, tuple)) or len(found) != n:
        raise Failure(f"{what}: expected {n} results, found {found!r:.200}")
    return found


# ------------------------------------------------------------------ exercises


class skipgram(Exercise):
    """skipgram_pairs on the grader's sentences (repeated words, one word, none) and windows 1, 3, 10."""

    def inputs():
        return {"sentences": hidden_sentences(), "windows": [1, 3, 10]}

    def call(inputs, skipgram_pairs):
        return [[np.asarray(skipgram_pairs(sentence, window)) for sentence in inputs["sentences"]]
                for window in inputs["windows"]]

    def judge(outputs, inputs):
        for window, row in zip(inputs["windows"], _listed(outputs, "skipgram_pairs", len(inputs["windows"]))):
            for sentence, found in zip(inputs["sentences"], _listed(row, "skipgram_pairs", len(inputs["sentences"]))):
                name = f"skipgram_pairs({sentence.tolist()}, window={window}), sorted"
                try:
                    pairs = sorted_pairs(found)
                except (ValueError, TypeError) as error:
                    raise Failure(f"{name}: {error}") from None
                same_array(name, pairs, sorted_pairs(reference.skipgram_pairs(sentence, window)), atol=0, rtol=0)


class negative_sampling(Exercise):
    """noise_distribution on the grader's counts; sample_negatives's 400 000 draws against it."""

    def inputs():
        counts = hidden_counts()
        weights = counts.astype(np.float64) ** 0.75
        return {"counts": counts, "noise": weights / weights.sum(), "n": 100000, "k": 4}

    def call(inputs, noise_distribution, sample_negatives):
        draws = np.asarray(sample_negatives(inputs["noise"], inputs["n"], inputs["k"], np.random.default_rng(88)))
        size = len(inputs["noise"])
        in_range = bool(draws.dtype.kind in "iu" and draws.size and draws.min() >= 0 and draws.max() < size)
        return {"noise": np.asarray(noise_distribution(inputs["counts"]), dtype=np.float64),
                "shape": list(draws.shape), "integer": draws.dtype.kind in "iu", "in_range": in_range,
                "counts": np.bincount(draws.ravel(), minlength=size) if in_range else np.zeros(size, np.int64)}

    def judge(outputs, inputs):
        same_array("noise_distribution(counts)", field(outputs, "noise"), reference.noise_distribution(inputs["counts"]))
        same_value("shape of sample_negatives(noise, n, k, rng)", list(field(outputs, "shape")), [inputs["n"], inputs["k"]])
        if not field(outputs, "integer") or not field(outputs, "in_range"):
            raise Failure(f"sample_negatives should return integer word ids 0..{len(inputs['noise']) - 1}")
        frequencies = np.asarray(field(outputs, "counts"), dtype=np.float64) / (inputs["n"] * inputs["k"])
        gap = float(np.max(np.abs(frequencies - inputs["noise"])))
        if not gap <= NOISE_TOLERANCE:
            word = int(np.argmax(np.abs(frequencies - inputs["noise"])))
            raise Failure(f"sample_negatives: word {word} was drawn with frequency {frequencies[word]:.4f}, but its "
                          f"noise probability is {inputs['noise'][word]:.4f}; draw from `noise` (rng.choice(..., p=noise))")


class sgns_loss(Exercise):
    """sgns_loss on the grader's vectors, with small and large dot products."""

    def inputs():
        generator = np.random.default_rng(8080)
        cases = []
        for batch, negatives, dim, scale in ((7, 4, 6, 0.4), (5, 2, 9, 15.0)):
            cases.append([generator.normal(0, scale, (batch, dim)), generator.normal(0, scale, (batch, dim)),
                          generator.normal(0, scale, (batch, negatives, dim))])
        return {"cases": cases}

    def call(inputs, sgns_loss):
        return [np.asarray(sgns_loss(*case), dtype=np.float64) for case in inputs["cases"]]

    def judge(outputs, inputs):
        for number, (case, found) in enumerate(zip(inputs["cases"], _listed(outputs, "sgns_loss", 2)), start=1):
            same_array(f"sgns_loss (case {number}: b={len(case[0])}, k={case[2].shape[1]})", found,
                       reference.sgns_loss(*case), atol=1e-5, rtol=1e-4)


class sgns_model(Exercise):
    """build_sgns_model for other vocabulary sizes, dimensions and numbers of noise words."""

    def inputs():
        return {"cases": [[40, 6, 2], [120, 16, 7]]}

    def call(inputs, build_sgns_model):
        return [build_sgns_model(*case) for case in inputs["cases"]]

    def judge(outputs, inputs):
        for case, model in zip(inputs["cases"], _listed(outputs, "build_sgns_model", 2)):
            problem = sgns_model_problem(model, *case)
            if problem:
                raise Failure(f"build_sgns_model{tuple(case)}: {problem}")


class neighbours(Exercise):
    """nearest_neighbours on the grader's random vectors."""

    def inputs():
        vectors, vocabulary = hidden_vectors(40, 6, 8081)
        return {"vectors": vectors, "vocabulary": vocabulary, "queries": [["w05", 4], ["w22", 1], ["w39", 6]]}

    def call(inputs, nearest_neighbours):
        return [[[str(word), float(similarity)]
                 for word, similarity in nearest_neighbours(inputs["vectors"], inputs["vocabulary"], query, n)]
                for query, n in inputs["queries"]]

    def judge(outputs, inputs):
        for (query, n), found in zip(inputs["queries"], _listed(outputs, "nearest_neighbours", 3)):
            expected = reference.nearest_neighbours(inputs["vectors"], inputs["vocabulary"], query, n)
            name = f"nearest_neighbours(vectors, vocabulary, {query!r}, n={n})"
            same_value(f"{name}: the words", [str(word) for word, _ in found], [word for word, _ in expected])
            same_array(f"{name}: the cosines", [value for _, value in found], [value for _, value in expected])


class analogy(Exercise):
    """analogy (3CosAdd) on the grader's random vectors."""

    def inputs():
        vectors, vocabulary = hidden_vectors(30, 5, 8082)
        return {"vectors": vectors, "vocabulary": vocabulary,
                "questions": [["w01", "w02", "w03"], ["w10", "w04", "w27"], ["w29", "w00", "w15"], ["w07", "w08", "w07"]]}

    def call(inputs, analogy):
        return [str(analogy(inputs["vectors"], inputs["vocabulary"], *question)) for question in inputs["questions"]]

    def judge(outputs, inputs):
        for question, found in zip(inputs["questions"], _listed(outputs, "analogy", len(inputs["questions"]))):
            same_value(f"analogy(vectors, vocabulary, {', '.join(map(repr, question))})", found,
                       reference.analogy(inputs["vectors"], inputs["vocabulary"], *question))


class similarity(Exercise):
    """The trained embeddings' Spearman correlation with wordsim353, computed by the grader."""

    def inputs():
        return {}

    def call(inputs, embeddings, vocabulary):
        return {"vectors": np.asarray(embeddings, dtype=np.float32), "vocabulary": [str(word) for word in vocabulary]}

    def judge(outputs, inputs):
        vectors, vocabulary = field(outputs, "vectors"), field(outputs, "vocabulary")
        if np.ndim(vectors) != 2 or len(vectors) != len(vocabulary):
            raise Failure(f"embeddings should hold one row per word of vocabulary ({len(vocabulary)} words); "
                          f"found shape {np.shape(vectors)}")
        corpus = grader_data(reference)
        rho, pairs = wordsim_spearman(vectors, vocabulary, corpus.word_pairs)
        return threshold_report(LAB_ID, "wordsim_spearman", rho, corpus,
                                about=f"on the {pairs} wordsim353 pairs in the vocabulary ({corpus.description})")


class kim_cnn(Exercise):
    """build_kim_cnn with other sizes, widths and classes, against the reference model."""

    def inputs():
        return {"cases": [{"vocab_size": 300, "length": 30, "dim": 16, "widths": [2, 3, 5], "filters": 8,
                           "dropout": 0.3, "n_classes": 3},
                          {"vocab_size": 90, "length": 11, "dim": 4, "widths": [4], "filters": 5,
                           "dropout": 0.5, "n_classes": 2}]}

    def call(inputs, build_kim_cnn):
        return [build_kim_cnn(case["vocab_size"], case["length"], dim=case["dim"], widths=tuple(case["widths"]),
                              filters=case["filters"], dropout=case["dropout"], n_classes=case["n_classes"])
                for case in inputs["cases"]]

    def judge(outputs, inputs):
        for case, model in zip(inputs["cases"], _listed(outputs, "build_kim_cnn", len(inputs["cases"]))):
            arguments = dict(case, widths=tuple(case["widths"]))
            name = f"build_kim_cnn({', '.join(f'{key}={value}' for key, value in arguments.items())})"
            problem = kim_cnn_problem(model, **arguments)
            if problem:
                raise Failure(f"{name}: {problem}")
            tokens = np.random.default_rng(8083).integers(0, case["vocab_size"], (8, case["length"])).astype("int32")
            try:
                same_model(model, reference.build_kim_cnn(**arguments), batch=tokens)
            except (Failure, AssertionError) as failure:
                raise Failure(f"{name}: {failure}") from None


class sentence_f1(Exercise):
    """The trained Kim CNN's macro-F1 on the grader's own copy of the held-out sentences."""

    def inputs():
        return {}

    def call(inputs, kim_model):
        return kim_model

    def judge(outputs, inputs):
        dataset = grader_data(reference, "sentences")
        return classifier_report(LAB_ID, reference.METRIC, outputs, dataset, inputs=dataset.x_test)
