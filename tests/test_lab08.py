"""Lab 08 (embeddings): typical wrong answers fail the visible and the hidden checks with their
messages; the reference equals Keras where it says so; the thresholds fail the shortcuts.

The set-up cell of the student notebook runs first, then the reference answers (from the source
notebook), then one wrong answer in place of an exercise, then that exercise's visible test cell.
"""

import json

import numpy as np
import pytest

from autograder.check import check
from autograder.exercise import Failure
from autograder.labs import reference as lab_reference
from autograder.thresholds import lookup
from coursekit.embeddings import kim_cnn_problem, sgns_model_problem, wordsim_spearman
from lab_cells import run_check
from solution_text import REPO

LAB = "08-embeddings"
reference = lab_reference(LAB)


def _cells(folder):
    (notebook,) = (REPO / folder / LAB).glob("*.ipynb")
    return json.loads(notebook.read_text())["cells"]


@pytest.fixture(scope="module")
def lab08():
    student = {cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"]) for cell in _cells("labs")}
    namespace = {}
    exec(student["cell-01"], namespace)  # imports, setup_lab, the corpus and its vocabulary
    exec("sentence_data = load_sentences(verbose=False)", namespace)
    for cell in _cells("solutions"):
        if cell["metadata"]["nbgrader"]["solution"]:
            exec("".join(cell["source"]), namespace)
    return student, namespace


def test_reference_answers_pass_every_visible_check(lab08):
    source, base = lab08
    for test_id in ("skipgram", "negative_sampling", "sgns_loss", "sgns_model", "neighbours", "analogy", "kim_cnn"):
        exec(source[test_id], dict(base))


PAIRS = '''
def skipgram_pairs(sentence, window):
    sentence = list(sentence)
    return np.array([(sentence[i], sentence[j]) for i in range(len(sentence))
                     for j in range({low}, {high}) if {keep}], dtype=np.int64).reshape(-1, 2)
'''


@pytest.mark.parametrize("low, high, keep, expected", [
    ("max(0, i - window)", "min(len(sentence), i + window)", "j != i",  # the right side of the window lost
     "skipgram_pairs([7, 3, 9, 3], window=1), sorted: expected shape (6, 2), found (3, 2)"),
    ("max(0, i - window)", "min(len(sentence), i + window + 1)", "True",  # the centre paired with itself
     "skipgram_pairs([7, 3, 9, 3], window=1), sorted: expected shape (6, 2), found (10, 2)"),
    ("i + 1", "min(len(sentence), i + window + 1)", "True",  # only the words after the centre
     "skipgram_pairs([7, 3, 9, 3], window=1), sorted: expected shape (6, 2), found (3, 2)"),
])
def test_wrong_skipgram_pairs(lab08, low, high, keep, expected):
    message = run_check(lab08, "skipgram", PAIRS.format(low=low, high=high, keep=keep))
    assert expected in message, message


@pytest.mark.parametrize("wrong, expected", [
    ("def noise_distribution(counts, power=0.75):\n    return np.asarray(counts) / np.sum(counts)",
     "noise_distribution([81, 16, 1, 0]): at index (0,) expected 0.75, found 0.826531"),
    ("def sample_negatives(noise, n, k, rng):\n    return rng.integers(0, len(noise), size=(n, k))",
     "largest gap between the draws' frequencies and the noise distribution is 0.5"),
    ("def sample_negatives(noise, n, k, rng):\n    return rng.choice(len(noise), size=(k, n), p=noise)",
     "shape of sample_negatives(noise, 50000, 4, rng): expected (50000, 4), found (4, 50000)"),
])
def test_wrong_negative_sampling(lab08, wrong, expected):
    message = run_check(lab08, "negative_sampling", wrong)
    assert expected in message, message


@pytest.mark.parametrize("body, expected", [
    ("return np.logaddexp(0, -np.sum(center * context, -1)) + np.logaddexp(0, -np.einsum('bkd,bd->bk', negatives, center)).sum(-1)",
     "sgns_loss vs 4 x Keras's binary cross-entropy (dot products up to 1): at index (0,) expected 2.82441, found 3.08144"),
    ("return -np.log(1 / (1 + np.exp(-np.sum(center * context, -1)))) - np.log(1 / (1 + np.exp(np.einsum('bkd,bd->bk', negatives, center)))).sum(-1)",
     "is inf (not finite)"),
    ("return np.mean(np.logaddexp(0, -np.sum(center * context, -1)) + np.logaddexp(0, np.einsum('bkd,bd->bk', negatives, center)).sum(-1))",
     "expected shape (4,), found ()"),
])
def test_wrong_sgns_loss(lab08, body, expected):
    with np.errstate(all="ignore"):
        message = run_check(lab08, "sgns_loss", f"def sgns_loss(center, context, negatives):\n    {body}\n")
    assert expected in message, message


SGNS = '''
def build_sgns_model(vocab_size, dim, negatives):
    center = keras.Input(shape=(1,), dtype="int32")
    contexts = keras.Input(shape=(negatives + 1,), dtype="int32")
{body}
'''


@pytest.mark.parametrize("body, expected", [
    ("    shared = keras.layers.Embedding(vocab_size, dim, name='target')\n"
     "    scores = keras.layers.Dot(axes=2)([shared(center), shared(contexts)])\n"
     "    return keras.Model([center, contexts], keras.layers.Flatten()(scores))",
     "expected two Embedding layers named 'target' and 'context', found ['target']"),
    ("    u = keras.layers.Embedding(vocab_size, dim, name='target')(center)\n"
     "    w = keras.layers.Embedding(vocab_size, dim, name='context')(contexts)\n"
     "    scores = keras.layers.Dot(axes=2, normalize=True)([u, w])\n"
     "    return keras.Model([center, contexts], keras.layers.Flatten()(scores))",
     "with fixed embeddings, the outputs are not the dot products <target[center], context[c]>"),
    ("    u = keras.layers.Embedding(vocab_size, dim, name='target')(center)\n"
     "    w = keras.layers.Embedding(vocab_size, dim, name='context')(contexts)\n"
     "    return keras.Model([center, contexts], keras.layers.Dot(axes=2)([u, w]))",
     "model output: expected shape (batch, 4) of dot products, found (1, 4)"),
    ("    u = keras.layers.Embedding(vocab_size, dim, name='context')(center)\n"
     "    w = keras.layers.Embedding(vocab_size, dim, name='target')(contexts)\n"
     "    scores = keras.layers.Dot(axes=2)([u, w])\n"
     "    return keras.Model([center, contexts], keras.layers.Flatten()(scores))",
     "with fixed embeddings, the outputs are not the dot products"),
])
def test_wrong_sgns_model(lab08, body, expected):
    message = run_check(lab08, "sgns_model", SGNS.format(body=body))
    assert expected in message, message


def test_neighbours_that_keep_the_word_itself(lab08):
    wrong = ("def nearest_neighbours(vectors, vocabulary, word, n=5):\n"
             "    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)\n"
             "    similarity = unit @ unit[list(vocabulary).index(word)]\n"
             "    return [(vocabulary[i], similarity[i]) for i in np.argsort(-similarity)[:n]]\n")
    message = run_check(lab08, "neighbours", wrong)
    assert "the words: expected ['dog', 'pet', 'car'], found ['cat', 'dog', 'pet']" in message, message


@pytest.mark.parametrize("wrong, expected", [
    ("def analogy(vectors, vocabulary, a, b, c):\n"  # raw vectors, not unit vectors
     "    index = {w: i for i, w in enumerate(vocabulary)}\n"
     "    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)\n"
     "    scores = unit @ (vectors[index[b]] - vectors[index[a]] + vectors[index[c]])\n"
     "    scores[[index[a], index[b], index[c]]] = -np.inf\n"
     "    return vocabulary[int(np.argmax(scores))]\n",
     "analogy(man : king : woman : ?): expected 'queen', found 'prince'"),
    ("def analogy(vectors, vocabulary, a, b, c):\n"  # the question's words not left out
     "    index = {w: i for i, w in enumerate(vocabulary)}\n"
     "    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)\n"
     "    return vocabulary[int(np.argmax(unit @ (unit[index[b]] - unit[index[a]] + unit[index[c]])))]\n",
     "analogy(man : king : boy : ?): expected 'prince', found 'king'"),
])
def test_wrong_analogy(lab08, wrong, expected):
    message = run_check(lab08, "analogy", wrong)
    assert expected in message, message


KIM = '''
def build_kim_cnn(vocab_size, length, dim=32, widths=(3, 4, 5), filters=32, dropout=0.5, n_classes=2):
    tokens = keras.Input(shape=(length,), dtype="int32")
    embedded = keras.layers.Embedding(vocab_size, dim)(tokens)
    pooled = [keras.layers.{pool}()(keras.layers.Conv1D(filters, width, activation="relu")(embedded))
              for width in {widths}]
    features = keras.layers.Dropout(dropout)(keras.layers.Concatenate()(pooled))
    return keras.Model(tokens, keras.layers.Dense(n_classes, activation="softmax")(features))
'''


@pytest.mark.parametrize("pool, widths, expected", [
    ("GlobalAveragePooling1D", "widths",
     "the reference has GlobalMaxPooling1D(strides=None) fed by Conv1D(32, 3, strides=1, dilation_rate=1, activation=relu); "
     "at that place your model has GlobalAveragePooling1D(strides=None)"),
    ("GlobalMaxPooling1D", "(3, 4, 5)",  # the widths argument ignored: the second check asks for (2, 5)
     "the reference has Conv1D(4, 2, strides=1, dilation_rate=1, activation=relu) fed by Embedding(); "
     "at that place your model has Conv1D(4, 3, strides=1, dilation_rate=1, activation=relu)"),
    ("GlobalMaxPooling1D", "sorted(widths, reverse=True)",
     "Concatenate the pooled branches in the order of widths [3, 4, 5]; yours come as [5, 4, 3]"),
])
def test_wrong_kim_cnn(lab08, pool, widths, expected):
    message = run_check(lab08, "kim_cnn", KIM.format(pool=pool, widths=widths))
    assert expected in message, message


# ------------------------------------------------------------------ hidden checks


def _one_sided_pairs(sentence, window):
    sentence = list(sentence)
    return np.array([(sentence[i], sentence[j]) for i in range(len(sentence))
                     for j in range(i + 1, min(len(sentence), i + window + 1))], dtype=np.int64).reshape(-1, 2)


def _uniform_negatives(noise, n, k, rng):
    return rng.integers(0, len(noise), size=(n, k))


def _unstable_loss(center, context, negatives):
    with np.errstate(all="ignore"):
        positive = np.sum(center * context, axis=-1)
        negative = np.einsum("bkd,bd->bk", negatives, center)
        return -np.log(1 / (1 + np.exp(-positive))) - np.log(1 / (1 + np.exp(negative))).sum(axis=-1)


def _mean_pooled_kim(vocab_size, length, dim=32, widths=(3, 4, 5), filters=32, dropout=0.5, n_classes=2):
    import keras

    tokens = keras.Input(shape=(length,), dtype="int32")
    embedded = keras.layers.Embedding(vocab_size, dim)(tokens)
    pooled = [keras.layers.GlobalAveragePooling1D()(keras.layers.Conv1D(filters, width, activation="relu")(embedded))
              for width in widths]
    features = keras.layers.Dropout(dropout)(keras.layers.Concatenate()(pooled))
    return keras.Model(tokens, keras.layers.Dense(n_classes, activation="softmax")(features))


def test_hidden_checks_accept_the_reference():
    check(LAB, "skipgram", {"skipgram_pairs": reference.skipgram_pairs})
    check(LAB, "negative_sampling", {"noise_distribution": reference.noise_distribution,
                                     "sample_negatives": reference.sample_negatives})
    check(LAB, "sgns_loss", {"sgns_loss": reference.sgns_loss})
    check(LAB, "neighbours", {"nearest_neighbours": reference.nearest_neighbours})
    check(LAB, "analogy", {"analogy": reference.analogy})


@pytest.mark.parametrize("grade_id, names, expected", [
    ("skipgram", {"skipgram_pairs": _one_sided_pairs},
     "skipgram_pairs([4, 4, 2, 9, 4, 1, 0, 7, 2], window=1), sorted: expected shape (16, 2), found (8, 2)"),
    ("skipgram", {"skipgram_pairs": lambda sentence, window: [(int(sentence[0]), int(sentence[-1]))]},
     "hidden check skipgram: your code raised IndexError"),
    ("negative_sampling", {"noise_distribution": reference.noise_distribution, "sample_negatives": _uniform_negatives},
     "sample_negatives: word 0 was drawn with frequency 0.08"),
    ("sgns_loss", {"sgns_loss": _unstable_loss}, "sgns_loss (case 2: b=5, k=2)"),
    ("kim_cnn", {"build_kim_cnn": _mean_pooled_kim}, "at that place your model has GlobalAveragePooling1D(strides=None)"),
])
def test_hidden_checks_reject_wrong_answers(grade_id, names, expected):
    with pytest.raises(Failure) as failure:
        check(LAB, grade_id, names)
    assert expected in str(failure.value), str(failure.value)


# ------------------------------------------------------------------ the reference vs Keras


def test_reference_sgns_loss_is_k_plus_one_times_keras_binary_cross_entropy():
    import keras

    generator = np.random.default_rng(5)
    center, context, negatives = generator.normal(size=(6, 4)), generator.normal(size=(6, 4)), generator.normal(size=(6, 3, 4))
    scores = np.concatenate([np.sum(center * context, 1, keepdims=True), np.einsum("bkd,bd->bk", negatives, center)], 1)
    labels = np.eye(4)[np.zeros(6, int)]
    expected = 4 * np.asarray(keras.losses.binary_crossentropy(labels, scores, from_logits=True), dtype=np.float64)
    np.testing.assert_allclose(reference.sgns_loss(center, context, negatives), expected, rtol=1e-5)


def test_reference_models_pass_the_shared_checks():
    assert sgns_model_problem(reference.build_sgns_model(25, 3, 4), 25, 3, 4) is None
    assert kim_cnn_problem(reference.build_kim_cnn(50, 9, 4, (2, 3), 3, 0.2, 2), 50, 9, 4, (2, 3), 3, 0.2, 2) is None


# ------------------------------------------------------------------ thresholds vs shortcuts


@pytest.fixture(scope="module")
def corpus_vocabulary():
    from coursekit.corpus_data import load_corpus
    from coursekit.lab import BUDGETS

    corpus = load_corpus(mode="offline", budget=BUDGETS["full"], verbose=False)
    return corpus, reference.corpus_vocabulary(corpus)[0]


@pytest.mark.parametrize("budget", ["smoke", "full"])
def test_untrained_embeddings_fail_the_similarity_threshold(corpus_vocabulary, budget):
    """The notebook's SGNS model before training (same seed) is below the floor at both budgets."""
    from coursekit.lab import set_determinism

    corpus, vocabulary = corpus_vocabulary
    set_determinism(0)
    untrained = reference.target_vectors(reference.build_sgns_model(len(vocabulary), reference.DIM, reference.NEGATIVES))
    rho, pairs = wordsim_spearman(untrained, vocabulary, corpus.word_pairs)
    assert pairs > 100
    assert rho < lookup(LAB, "wordsim_spearman", "lee_offline", budget)["threshold"]


def test_random_embeddings_seldom_reach_the_full_similarity_threshold(corpus_vocabulary):
    """The weak spot of the offline floor, measured: on the ~130 wordsim353 pairs the 60 000-word corpus
    covers, random embeddings have rho ~ N(0, 0.085), and the calibrated seeds go down to 0.13, so
    about one random embedding in seven reaches the full-budget floor (0.0999): measured 0.145 over
    400 draws. This test fails if a recalibration lowers the floor further."""
    corpus, vocabulary = corpus_vocabulary
    threshold = lookup(LAB, "wordsim_spearman", "lee_offline", "full")["threshold"]
    generator = np.random.default_rng(2024)
    scores = [wordsim_spearman(generator.uniform(-0.05, 0.05, (len(vocabulary), 8)), vocabulary, corpus.word_pairs)[0]
              for _ in range(200)]
    assert np.mean(np.array(scores) >= threshold) <= 0.2, (threshold, np.sort(scores)[-12:])


@pytest.mark.parametrize("budget", ["smoke", "full"])
def test_a_one_class_classifier_and_untrained_kim_cnns_fail_the_f1_threshold(budget, monkeypatch):
    """The shortcuts the sentence threshold guards: always saying one class (macro-F1 1/3 on the
    balanced held-out sentences) and handing in the network untrained (five seeds)."""
    from autograder.judges import classifier_report, grader_data
    from coursekit.lab import set_determinism

    monkeypatch.setenv("COURSE_BUDGET", budget)
    dataset = grader_data(reference, "sentences")
    model = reference.build_kim_cnn(len(dataset.vocabulary), dataset.length)
    dense = model.layers[-1]
    kernel, _ = dense.get_weights()
    dense.set_weights([np.zeros_like(kernel), np.array([5.0, -5.0], dtype="float32")])
    with pytest.raises(Failure, match=r"macro_f1 = 0.3333 .* is below"):
        classifier_report(LAB, "macro_f1", model, dataset, inputs=dataset.x_test)
    for seed in range(5):
        set_determinism(seed)
        untrained = reference.build_kim_cnn(len(dataset.vocabulary), dataset.length)
        with pytest.raises(Failure, match="is below"):
            classifier_report(LAB, "macro_f1", untrained, dataset, inputs=dataset.x_test)
