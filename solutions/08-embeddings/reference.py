"""Reference for lab 08 (embeddings): skip-gram with negative sampling, and Kim's text CNN.

Calibrated numbers:

- ``wordsim_spearman`` (SCORES, on the corpus ``DATASET``): Spearman's rho between the
  cosine similarities of the SGNS embeddings trained in Keras (the notebook's recipe,
  ``train_embeddings``) and the human scores of the wordsim353 pairs whose words are both in
  the vocabulary;
- ``macro_f1`` (METRIC, ``train``, on the set "sentences" of ``coursekit/text_data.py``: IMDB
  sentiment online; offline movie-review sentences against news sentences): the Kim (2014)
  CNN's macro-F1 on the held-out split.
"""

import keras
import numpy as np

from coursekit.embeddings import build_vocabulary, encode, epoch_pairs, wordsim_spearman
from coursekit.lab import set_determinism

LAB_ID = "08-embeddings"
DATASET = "corpus"
METRIC = "macro_f1"
METRIC_DATASETS = {"macro_f1": "sentences"}

# Skip-gram with negative sampling (the notebook's recipe).
MIN_COUNT = 2
WINDOW = 4
NEGATIVES = 5
DIM = 50
SGNS_EPOCHS, SGNS_SMOKE_EPOCHS = 6, 3
SGNS_BATCH = 1024
SGNS_LEARNING_RATE = 0.01

# Kim (2014) CNN.
KIM_DIM = 32
KIM_WIDTHS = (3, 4, 5)
KIM_FILTERS = 32
KIM_DROPOUT = 0.5
KIM_EPOCHS = {"subjectivity_offline": 20, "imdb": 4}  # by data key; at most KIM_SMOKE_EPOCHS at the smoke budget
KIM_SMOKE_EPOCHS = 10
KIM_MAX_TRAIN = 8000  # training texts used (all 320 offline sentences; 8 000 of IMDB's 25 000 reviews)
KIM_BATCH = 16
KIM_LEARNING_RATE = 2e-3
KIM_VALIDATION = 0.2
KIM_PATIENCE = 8


# ------------------------------------------------------------------ skip-gram pairs


def skipgram_pairs(sentence, window):
    sentence = list(sentence)
    pairs = [(sentence[i], sentence[j])
             for i in range(len(sentence))
             for j in range(max(0, i - window), min(len(sentence), i + window + 1)) if j != i]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


# ------------------------------------------------------------------ negative sampling


def noise_distribution(counts, power=0.75):
    weights = np.asarray(counts, dtype=np.float64) ** power
    return weights / weights.sum()


def sample_negatives(noise, n, k, rng):
    return rng.choice(len(noise), size=(n, k), p=noise)


# ------------------------------------------------------------------ the SGNS loss


def sgns_loss(center, context, negatives):
    center, context, negatives = (np.asarray(a, dtype=np.float64) for a in (center, context, negatives))
    positive = np.sum(center * context, axis=-1)
    negative = np.einsum("bkd,bd->bk", negatives, center)
    return np.logaddexp(0.0, -positive) + np.logaddexp(0.0, negative).sum(axis=-1)


# ------------------------------------------------------------------ the SGNS model


def build_sgns_model(vocab_size, dim, negatives):
    center = keras.Input(shape=(1,), dtype="int32", name="center")
    contexts = keras.Input(shape=(negatives + 1,), dtype="int32", name="contexts")
    target_vectors = keras.layers.Embedding(vocab_size, dim, name="target")(center)
    context_vectors = keras.layers.Embedding(vocab_size, dim, name="context")(contexts)
    scores = keras.layers.Dot(axes=2)([target_vectors, context_vectors])
    return keras.Model([center, contexts], keras.layers.Flatten()(scores))


# ------------------------------------------------------------------ nearest neighbours, analogies


def nearest_neighbours(vectors, vocabulary, word, n=5):
    vectors = np.asarray(vectors, dtype=np.float64)
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    index = list(vocabulary).index(word)
    similarity = unit @ unit[index]
    similarity[index] = -np.inf
    best = np.argsort(-similarity, kind="stable")[:n]
    return [(vocabulary[i], float(similarity[i])) for i in best]


def analogy(vectors, vocabulary, a, b, c):
    vectors = np.asarray(vectors, dtype=np.float64)
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    index = {word: i for i, word in enumerate(vocabulary)}
    similarity = unit @ (unit[index[b]] - unit[index[a]] + unit[index[c]])
    similarity[[index[a], index[b], index[c]]] = -np.inf
    return vocabulary[int(np.argmax(similarity))]


# ------------------------------------------------------------------ training (the notebook's recipe)


def train_embeddings(sentences, counts, budget, seed, build=build_sgns_model, pairs_function=skipgram_pairs,
                     noise_function=noise_distribution, negatives_function=sample_negatives, verbose=0):
    """The notebook's SGNS training: returns (model, per-epoch losses).

    ``sentences``: encoded sentences (arrays of word ids); ``counts``: (V,) word counts.
    """
    set_determinism(seed)
    rng = np.random.default_rng(seed)
    model = build(len(counts), DIM, NEGATIVES)
    model.compile(optimizer=keras.optimizers.Adam(SGNS_LEARNING_RATE),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))
    noise = noise_function(counts)
    losses = []
    for epoch in range(budget.cap(SGNS_EPOCHS, smoke=SGNS_SMOKE_EPOCHS)):
        pairs = epoch_pairs(sentences, counts, WINDOW, rng, pairs_function)
        negative = negatives_function(noise, len(pairs), NEGATIVES, rng)
        contexts = np.concatenate([pairs[:, 1:], negative], axis=1).astype("int32")
        labels = np.zeros(contexts.shape, "float32")
        labels[:, 0] = 1.0
        history = model.fit([pairs[:, :1].astype("int32"), contexts], labels, batch_size=SGNS_BATCH,
                            epochs=1, shuffle=True, verbose=verbose)
        losses.append(float(history.history["loss"][-1]))
    return model, losses


def corpus_vocabulary(dataset):
    """(vocabulary tuple, counts (V,), encoded sentences) at the lab's MIN_COUNT."""
    vocabulary, counts = build_vocabulary(dataset.sentences, MIN_COUNT)
    return vocabulary, counts, encode(dataset.sentences, vocabulary)


def target_vectors(model):
    return np.asarray(model.get_layer("target").get_weights()[0])


def score_wordsim(dataset, budget, seed) -> float:
    vocabulary, counts, sentences = corpus_vocabulary(dataset)
    model, _ = train_embeddings(sentences, counts, budget, seed)
    rho, _ = wordsim_spearman(target_vectors(model), vocabulary, dataset.word_pairs)
    return rho


SCORES = {"wordsim_spearman": score_wordsim}


# ------------------------------------------------------------------ Kim (2014) CNN


def build_kim_cnn(vocab_size, length, dim=KIM_DIM, widths=KIM_WIDTHS, filters=KIM_FILTERS, dropout=KIM_DROPOUT,
                  n_classes=2):
    tokens = keras.Input(shape=(length,), dtype="int32")
    embedded = keras.layers.Embedding(vocab_size, dim)(tokens)
    pooled = [keras.layers.GlobalMaxPooling1D()(keras.layers.Conv1D(filters, width, activation="relu")(embedded))
              for width in widths]
    features = keras.layers.Concatenate()(pooled)
    features = keras.layers.Dropout(dropout)(features)
    return keras.Model(tokens, keras.layers.Dense(n_classes, activation="softmax")(features))


def validation_split(n, seed=0, fraction=KIM_VALIDATION):
    """(train index, validation index): a fixed split of the training data."""
    order = np.random.default_rng(seed).permutation(n)
    cut = int(round(n * fraction))
    return order[cut:], order[:cut]


def train_kim(dataset, budget, seed, build=build_kim_cnn, verbose=0):
    """The notebook's recipe: Adam, early stopping on a validation split of the training texts."""
    x_train, y_train = dataset.x_train[:KIM_MAX_TRAIN], dataset.y_train[:KIM_MAX_TRAIN]
    fit_index, validation_index = validation_split(len(x_train))
    set_determinism(seed)
    model = build(len(dataset.vocabulary), dataset.x_train.shape[1])
    model.compile(optimizer=keras.optimizers.Adam(KIM_LEARNING_RATE), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=KIM_PATIENCE, restore_best_weights=True)
    history = model.fit(x_train[fit_index], y_train[fit_index], batch_size=KIM_BATCH,
                        epochs=budget.cap(KIM_EPOCHS[dataset.key], smoke=KIM_SMOKE_EPOCHS),
                        validation_data=(x_train[validation_index], y_train[validation_index]),
                        callbacks=[stop], verbose=verbose)
    return model, history


def train(dataset, budget, seed):
    return train_kim(dataset, budget, seed)[0]
