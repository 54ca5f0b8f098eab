# %% [markdown]
# # Lab 08 — Word embeddings and a CNN for sentences
#
# *Distributional hypothesis* (Harris 1954; Firth 1957: "you shall know a word by the company
# it keeps"): words that occur in similar contexts have similar meanings. word2vec (Mikolov et
# al. 2013) turns this into a learning problem. Each word $w$ gets two vectors, $x_w$ when it is
# the centre word and $x'_w$ when it is a context word, and the model says how likely a context
# word $w$ is around a centre word $u$:
#
# $$p(w \mid u) = \operatorname{softmax}_w \langle x'_w, x_u \rangle
#   = \frac{\exp\langle x'_w, x_u\rangle}{\sum_{v} \exp\langle x'_v, x_u\rangle}.$$
#
# The sum runs over the whole vocabulary, which is too slow. *Skip-gram with negative sampling*
# (SGNS) replaces it by $k$ binary questions against random "noise" words $v_1, \dots, v_k$ that are
# not from $u$'s context, and maximises
#
# $$\sum_{(u, w)} n_{wu} \Big( \ln \sigma\langle x'_w, x_u\rangle
#   + \sum_{i=1}^{k} \ln \sigma\big(-\langle x'_{v_i}, x_u\rangle\big) \Big),$$
#
# $n_{wu}$ being how often $w$ occurs in the window of $u$. You will build the pairs, the noise
# words and the loss, train the embeddings in Keras, look at nearest neighbours and analogies,
# score them against human judgements (wordsim353) side by side with `gensim`'s word2vec, and
# finally classify sentences with Yoon Kim's (2014) CNN.
#
# Related methods the lecture names: paragraph2vec (doc2vec), sent2vec, FastText (character
# n-grams), node2vec and graph2vec (random walks on graphs as "sentences"), StarSpace.
#
# **Data.** Online (`COURSE_DATA=keras`) the corpus is a prefix of *text8* (cleaned English
# Wikipedia) and the sentences are IMDB movie reviews. `COURSE_DATA=offline` uses real text that
# ships inside the `gensim` package: 300 news stories of the Australian Broadcasting Corporation
# (`lee_background.cor`, about 60 000 words); for the sentence classifier, 200 movie-review sentences
# (Pang & Lee) against 200 sentences of those news stories: which of the two kinds of text is this
# sentence? (Kim's SUBJ task, opinionated review snippets against objective plot summaries, is the
# same kind of question.) A corpus
# of 60 000 words is tiny for word2vec (Mikolov trained on billions): expect noisy neighbours and
# low scores, and compare with gensim on the same text rather than with published numbers. The
# first cells print what you got. Fill in every `# YOUR CODE HERE` and run the check under it.

# %%
import coursekit  # first: it starts TensorFlow without its harmless start-up log lines
import keras
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import confusion_matrix, f1_score

from coursekit import plots, setup_lab
from coursekit.checks import check_array, check_at_most, check_grader_threshold, check_value
from coursekit.corpus_data import load_corpus
from coursekit.embeddings import (analogy_questions, build_vocabulary, check_kim_cnn, check_sgns_model, encode,
                                  epoch_pairs, plot_similarity_scatter, plot_words, sorted_pairs, wordsim_spearman)
from coursekit.text_data import load_sentences

lab = setup_lab("08-embeddings")
corpus = load_corpus()
MIN_COUNT = 2
vocabulary, counts = build_vocabulary(corpus.sentences, MIN_COUNT)
sentences = encode(corpus.sentences, vocabulary)
print(f"vocabulary: {len(vocabulary)} words seen at least {MIN_COUNT} times; most frequent: {vocabulary[:12]}")
print("first sentence:", " ".join(corpus.sentences[0][:30]), "...")

# %% [markdown]
# ## 1. Skip-gram pairs
#
# Word ids replace the words: `sentences[0]` is an int array, `vocabulary[i]` the word of id `i`.
# Write `skipgram_pairs(sentence, window)`: every pair `(center, context)` where `context` is at
# most `window` positions before or after `center` in the sentence (never the centre position
# itself), as an int array `(n_pairs, 2)`. A word that occurs twice gives a pair for each
# occurrence. The order of the pairs does not matter. A sentence of one word has no pairs:
# return an array of shape `(0, 2)`.

# %% kind="solution"
def skipgram_pairs(sentence, window):
    ### BEGIN SOLUTION
    sentence = list(sentence)
    pairs = [(sentence[i], sentence[j])
             for i in range(len(sentence))
             for j in range(max(0, i - window), min(len(sentence), i + window + 1)) if j != i]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)
    ### END SOLUTION


# %% kind="test" id="skipgram" points=2
toy = np.array([7, 3, 9, 3])
check_array("skipgram_pairs([7, 3, 9, 3], window=1), sorted", sorted_pairs(skipgram_pairs(toy, 1)),
            [[3, 7], [3, 9], [3, 9], [7, 3], [9, 3], [9, 3]])
check_value("number of pairs of [7, 3, 9, 3] with window=2", len(sorted_pairs(skipgram_pairs(toy, 2))), 10)
check_value("shape of the pairs of a one-word sentence", sorted_pairs(skipgram_pairs(np.array([5]), 3)).shape, (0, 2))
print(f"{len(sorted_pairs(skipgram_pairs(sentences[0], 4)))} pairs in the first sentence with window 4")

# %% [markdown]
# ## 2. Negative sampling
#
# Mikolov et al. draw the noise words from the unigram distribution raised to the power 3/4,
# $P_n(w) \propto \text{count}(w)^{3/4}$, which gives rare words a little more weight than their
# frequency. Write `noise_distribution(counts, power=0.75)` (float array `(V,)` summing to 1) and
# `sample_negatives(noise, n, k, rng)`: an int array `(n, k)` of word ids drawn independently from
# `noise` with the NumPy generator `rng` (`np.random.default_rng(...)`).
#
# (word2vec's own code does not check that a noise word is not the true context word; with
# thousands of words a collision is rare, and neither do we.)

# %% kind="solution"
def noise_distribution(counts, power=0.75):
    ### BEGIN SOLUTION
    weights = np.asarray(counts, dtype=np.float64) ** power
    return weights / weights.sum()
    ### END SOLUTION


def sample_negatives(noise, n, k, rng):
    ### BEGIN SOLUTION
    return rng.choice(len(noise), size=(n, k), p=noise)
    ### END SOLUTION


# %% kind="test" id="negative_sampling" points=2
toy_counts = np.array([81, 16, 1, 0])
check_array("noise_distribution([81, 16, 1, 0])", noise_distribution(toy_counts), np.array([27, 8, 1, 0]) / 36)
draws = sample_negatives(noise_distribution(toy_counts), 50000, 4, np.random.default_rng(0))
check_value("shape of sample_negatives(noise, 50000, 4, rng)", np.shape(draws), (50000, 4))
frequencies = np.bincount(np.ravel(draws), minlength=4)[:4] / np.size(draws)
check_at_most("largest gap between the draws' frequencies and the noise distribution",
              float(np.max(np.abs(frequencies - np.array([27, 8, 1, 0]) / 36))), 0.01)

# %% [markdown]
# ## 3. The SGNS loss
#
# For one pair, the loss to *minimise* is the negated term of the objective:
#
# $$\ell(u, w, v_{1..k}) = -\ln \sigma\langle x'_w, x_u\rangle - \sum_{i=1}^{k} \ln \sigma\big(-\langle x'_{v_i}, x_u\rangle\big).$$
#
# Write `sgns_loss(center, context, negatives)` in NumPy: `center` $(b, d)$ holds the $x_u$,
# `context` $(b, d)$ the $x'_w$, `negatives` $(b, k, d)$ the $x'_{v_i}$; return the $b$ losses.
# Dot products can be large: use $-\ln\sigma(s) = \ln(1 + e^{-s})$ = `np.logaddexp(0, -s)`,
# which never overflows.
#
# This is exactly Keras's binary cross-entropy on the $k+1$ scores $s = (\langle x'_w,x_u\rangle,
# \langle x'_{v_1},x_u\rangle, \dots)$ with labels $(1, 0, \dots, 0)$, times $k+1$ (Keras averages
# over the last axis) — the check uses that.

# %% kind="solution"
def sgns_loss(center, context, negatives):
    ### BEGIN SOLUTION
    positive = np.sum(center * context, axis=-1)
    negative = np.einsum("bkd,bd->bk", negatives, center)
    return np.logaddexp(0.0, -positive) + np.logaddexp(0.0, negative).sum(axis=-1)
    ### END SOLUTION


# %% kind="test" id="sgns_loss" points=2
generator = np.random.default_rng(3)
for scale in (0.3, 20.0):  # small and huge dot products
    u, w, v = generator.normal(0, scale, (4, 5)), generator.normal(0, scale, (4, 5)), generator.normal(0, scale, (4, 3, 5))
    scores = np.concatenate([np.sum(u * w, axis=1, keepdims=True), np.einsum("bkd,bd->bk", v, u)], axis=1)
    labels = np.zeros_like(scores)
    labels[:, 0] = 1
    keras_loss = 4 * np.asarray(keras.losses.binary_crossentropy(labels, scores, from_logits=True), dtype=np.float64)
    check_array(f"sgns_loss vs 4 x Keras's binary cross-entropy (dot products up to {np.abs(scores).max():.0f})",
                sgns_loss(u, w, v), keras_loss, atol=1e-5, rtol=1e-4)

# %% [markdown]
# ## 4. SGNS as a Keras model
#
# Write `build_sgns_model(vocab_size, dim, negatives)`, a functional model with
#
# * two inputs: `keras.Input(shape=(1,), dtype="int32")` — the centre word $u$ — and
#   `keras.Input(shape=(negatives + 1,), dtype="int32")` — the context word $w$ followed by the
#   $k$ noise words;
# * two `keras.layers.Embedding(vocab_size, dim)` layers, named `"target"` (the $x_u$, for the
#   centre) and `"context"` (the $x'$, for the others);
# * the output: the $k+1$ dot products $\langle x'_c, x_u\rangle$, shape `(batch, negatives + 1)`
#   (`keras.layers.Dot(axes=2)` of `(batch, 1, dim)` and `(batch, k+1, dim)` gives `(batch, 1, k+1)`;
#   `keras.layers.Flatten()` drops the middle axis). No activation: the loss takes logits.
#
# Inputs first: `keras.Model([center, contexts], scores)`.

# %% kind="solution"
def build_sgns_model(vocab_size, dim, negatives):
    ### BEGIN SOLUTION
    center = keras.Input(shape=(1,), dtype="int32", name="center")
    contexts = keras.Input(shape=(negatives + 1,), dtype="int32", name="contexts")
    target_vectors = keras.layers.Embedding(vocab_size, dim, name="target")(center)
    context_vectors = keras.layers.Embedding(vocab_size, dim, name="context")(contexts)
    scores = keras.layers.Dot(axes=2)([target_vectors, context_vectors])
    return keras.Model([center, contexts], keras.layers.Flatten()(scores))
    ### END SOLUTION


# %% kind="test" id="sgns_model" points=2
check_sgns_model(build_sgns_model(30, 4, 3), 30, 4, 3)
check_sgns_model(build_sgns_model(len(vocabulary), 50, 5), len(vocabulary), 50, 5)

# %% [markdown]
# ### Training
#
# Each epoch draws new pairs (frequent words are randomly *subsampled* first, as in word2vec:
# an occurrence of word $w$ with corpus share $f_w$ is kept with probability
# $\min(1, \sqrt{t/f_w} + t/f_w)$, $t = 10^{-3}$) and new noise words. The labels are
# $(1, 0, \dots, 0)$ and the loss is the binary cross-entropy on logits, i.e. your SGNS loss divided
# by $k+1$. Adam with a large step suits the sparse updates of embeddings.

# %%
WINDOW, NEGATIVES, DIM = 4, 5, 50
noise = noise_distribution(counts)
print("noise probability of the 5 most frequent words:", dict(zip(vocabulary[:5], noise[:5].round(4))))
keras.utils.set_random_seed(lab.seed)  # start from the grader's calibration state
rng = np.random.default_rng(lab.seed)
sgns = build_sgns_model(len(vocabulary), DIM, NEGATIVES)
sgns.compile(optimizer=keras.optimizers.Adam(0.01), loss=keras.losses.BinaryCrossentropy(from_logits=True))
epoch_losses = []
for epoch in range(lab.budget.cap(6, smoke=3)):
    pairs = epoch_pairs(sentences, counts, WINDOW, rng, skipgram_pairs)
    negative = sample_negatives(noise, len(pairs), NEGATIVES, rng)
    contexts = np.concatenate([pairs[:, 1:], negative], axis=1).astype("int32")
    labels = np.zeros(contexts.shape, "float32")
    labels[:, 0] = 1.0
    history = sgns.fit([pairs[:, :1].astype("int32"), contexts], labels, batch_size=1024, epochs=1, shuffle=True,
                       verbose=0)
    epoch_losses.append(history.history["loss"][-1])
    print(f"epoch {epoch + 1}: {len(pairs)} pairs, loss {epoch_losses[-1]:.4f}")
embeddings = sgns.get_layer("target").get_weights()[0]
plt.plot(np.arange(1, len(epoch_losses) + 1), epoch_losses, marker="o")
plt.xlabel("epoch")
plt.ylabel("binary cross-entropy (SGNS loss / (k+1))")
plt.title("SGNS training")
plt.show()

# %% [markdown]
# ## 5. Nearest neighbours
#
# Write `nearest_neighbours(vectors, vocabulary, word, n=5)`: the `n` words whose vectors have the
# highest cosine similarity $\cos(a, b) = \langle a, b\rangle / (\|a\|\,\|b\|)$ with `word`'s, the
# word itself left out, as a list of `(word, cosine)` pairs, most similar first.

# %% kind="solution"
def nearest_neighbours(vectors, vocabulary, word, n=5):
    ### BEGIN SOLUTION
    vectors = np.asarray(vectors, dtype=np.float64)
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    index = list(vocabulary).index(word)
    similarity = unit @ unit[index]
    similarity[index] = -np.inf
    best = np.argsort(-similarity, kind="stable")[:n]
    return [(vocabulary[i], float(similarity[i])) for i in best]
    ### END SOLUTION


# %% kind="test" id="neighbours" points=1
toy_vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 2.0], [-1.0, 0.1], [3.0, 2.9]])
toy_words = ("cat", "dog", "car", "tac", "pet")
found = nearest_neighbours(toy_vectors, toy_words, "cat", n=3)
check_value("nearest_neighbours(..., 'cat', n=3): the words", [str(word) for word, _ in found], ["dog", "pet", "car"])
check_array("their cosines", [similarity for _, similarity in found],
            [0.9 / np.hypot(0.9, 0.1), 3.0 / np.hypot(3.0, 2.9), 0.0], atol=1e-6)

# %% [markdown]
# The same question to `gensim.models.Word2Vec` (skip-gram, negative sampling, the same window,
# dimension, number of noise words, subsampling, vocabulary threshold and epochs, on the same
# corpus); gensim trains in optimised C, one thread here. Its plain SGD, with a step that decays
# linearly to zero, needs more passes than Adam on a corpus this small: offline, at this budget it
# lags far behind (with `epochs=20` it reaches a wordsim353 correlation of about 0.2).

# %%
from gensim.models import Word2Vec  # noqa: E402

reference_w2v = Word2Vec(corpus.sentences, vector_size=DIM, window=WINDOW, min_count=MIN_COUNT, sg=1, negative=NEGATIVES,
                         sample=1e-3, epochs=lab.budget.cap(6, smoke=3), seed=lab.seed, workers=1)
gensim_vectors = np.stack([reference_w2v.wv[word] for word in vocabulary])
for word in ("government", "police", "fire", "sydney", "says", "two", "king", "city"):
    if word in vocabulary:
        print(f"{word:>12} | Keras: {', '.join(w for w, _ in nearest_neighbours(embeddings, vocabulary, word, 5))}")
        print(f"{'':>12} | gensim: {', '.join(w for w, _ in nearest_neighbours(gensim_vectors, vocabulary, word, 5))}")

# %% [markdown]
# ## 6. Analogies
#
# "a is to b as c is to ?": the 3CosAdd rule of Mikolov et al. answers with the word $d$ (other than
# $a$, $b$, $c$) whose unit vector has the highest cosine with $\hat b - \hat a + \hat c$, the hats
# meaning vectors scaled to length 1. Write `analogy(vectors, vocabulary, a, b, c)` returning that
# word.

# %% kind="solution"
def analogy(vectors, vocabulary, a, b, c):
    ### BEGIN SOLUTION
    vectors = np.asarray(vectors, dtype=np.float64)
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    index = {word: i for i, word in enumerate(vocabulary)}
    similarity = unit @ (unit[index[b]] - unit[index[a]] + unit[index[c]])
    similarity[[index[a], index[b], index[c]]] = -np.inf
    return vocabulary[int(np.argmax(similarity))]
    ### END SOLUTION


# %% kind="test" id="analogy" points=1
toy_vectors = np.array([[1.0, 0.0, 0.0], [3.0, 3.0, 0.0], [0.0, 0.0, 0.5], [0.0, 1.0, 1.0], [0.2, 2.0, 1.8],
                        [1.2, 0.0, 0.1], [2.6, 2.0, 0.6]])  # lengths differ on purpose
toy_words = ("man", "king", "woman", "queen", "princess", "boy", "prince")
for question, answer in ((("man", "king", "woman"), "queen"), (("woman", "queen", "man"), "king"),
                         (("man", "king", "boy"), "prince")):
    check_value(f"analogy({' : '.join(question)} : ?)", str(analogy(toy_vectors, toy_words, *question)), answer)

# %%
questions = analogy_questions(corpus.analogies, vocabulary, limit=300)
for name, vectors in (("Keras SGNS", embeddings), ("gensim", gensim_vectors)):
    correct = sum(analogy(vectors, vocabulary, a, b, c) == d for a, b, c, d in questions)
    print(f"{name}: {correct} of {len(questions)} analogy questions whose words are all in the vocabulary")
print("e.g.", questions[:3])

# %% [markdown]
# ## 7. Word similarity against human judgements
#
# wordsim353 gives 353 word pairs scored 0–10 by people (*tiger–cat* 7.35, *king–cabbage* 0.23).
# `wordsim_spearman` takes the pairs whose two words are in the vocabulary and computes Spearman's
# rank correlation between the cosine similarity and the human score. The grader computes it
# itself from your `embeddings` (the `"target"` matrix, one row per word of `vocabulary`) and
# requires the threshold calibrated for the reference recipe on this data and budget. Untrained
# (random) embeddings score about 0 ± 0.09 on the ~130 pairs the offline corpus covers.

# %% kind="test" id="similarity" points=3
rho, n_pairs = wordsim_spearman(embeddings, vocabulary, corpus.word_pairs)
gensim_rho, _ = wordsim_spearman(gensim_vectors, vocabulary, corpus.word_pairs)
print(f"Spearman on {n_pairs} wordsim353 pairs: Keras SGNS {rho:.3f}, gensim word2vec {gensim_rho:.3f}")
check_grader_threshold(lab, "wordsim_spearman", rho, corpus, label="Spearman's rho (wordsim353)",
                       hint="are the embeddings trained? (the 'target' matrix of your SGNS model)")

# %%
figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
plot_similarity_scatter(embeddings, vocabulary, corpus.word_pairs, f"Keras SGNS (rho {rho:.2f})", axes[0])
plot_similarity_scatter(gensim_vectors, vocabulary, corpus.word_pairs, f"gensim word2vec (rho {gensim_rho:.2f})", axes[1])
plt.show()
words = [word for word in vocabulary[30:400] if len(word) > 3][:40]
figure, axes = plt.subplots(1, 2, figsize=(13, 6))
plot_words(embeddings, vocabulary, words, "Keras SGNS: 40 frequent words, first two principal components", axes[0])
plot_words(gensim_vectors, vocabulary, words, "gensim word2vec", axes[1])
plt.show()

# %% [markdown]
# ## 8. A CNN for sentences (Kim 2014)
#
# Yoon Kim's sentence classifier: embed the tokens, run several 1-D convolutions of different widths
# over the sequence (each a detector of an n-gram), keep each filter's largest response anywhere in
# the sentence (*max-over-time pooling*), concatenate, dropout, softmax. Write
# `build_kim_cnn(vocab_size, length, dim=32, widths=(3, 4, 5), filters=32, dropout=0.5, n_classes=2)`:
#
# `keras.Input(shape=(length,), dtype="int32")` → `Embedding(vocab_size, dim)` → for each width, in
# the order given: `Conv1D(filters, width, activation="relu")` → `GlobalMaxPooling1D()`; then
# `Concatenate()` of the branches (in that order) → `Dropout(dropout)` → `Dense(n_classes,
# activation="softmax")`.

# %%
sentence_data = load_sentences()
print("a training text:", sentence_data.decode(sentence_data.x_train[0]), "->", sentence_data.class_names[sentence_data.y_train[0]])

# %% kind="solution"
def build_kim_cnn(vocab_size, length, dim=32, widths=(3, 4, 5), filters=32, dropout=0.5, n_classes=2):
    ### BEGIN SOLUTION
    tokens = keras.Input(shape=(length,), dtype="int32")
    embedded = keras.layers.Embedding(vocab_size, dim)(tokens)
    pooled = [keras.layers.GlobalMaxPooling1D()(keras.layers.Conv1D(filters, width, activation="relu")(embedded))
              for width in widths]
    features = keras.layers.Concatenate()(pooled)
    features = keras.layers.Dropout(dropout)(features)
    return keras.Model(tokens, keras.layers.Dense(n_classes, activation="softmax")(features))
    ### END SOLUTION


# %% kind="test" id="kim_cnn" points=2
check_kim_cnn(build_kim_cnn(len(sentence_data.vocabulary), sentence_data.length), len(sentence_data.vocabulary),
              sentence_data.length, 32, (3, 4, 5), 32, 0.5, 2)
check_kim_cnn(build_kim_cnn(100, 12, dim=8, widths=(2, 5), filters=4, dropout=0.25, n_classes=3),
              100, 12, 8, (2, 5), 4, 0.25, 3)

# %% [markdown]
# ### Training and quality
#
# Model selection on a validation split carved from the training texts (early stopping on its
# accuracy, best weights restored); the test texts are used once, for the score below.

# %%
x_fit, y_fit = sentence_data.x_train[:8000], sentence_data.y_train[:8000]  # IMDB: 8 000 of the 25 000 reviews
order = np.random.default_rng(0).permutation(len(x_fit))
validation, fit = order[: int(round(0.2 * len(x_fit)))], order[int(round(0.2 * len(x_fit))):]
keras.utils.set_random_seed(lab.seed)
kim_model = build_kim_cnn(len(sentence_data.vocabulary), sentence_data.length)
kim_model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
epochs = lab.budget.cap({"subjectivity_offline": 20, "imdb": 4}[sentence_data.key], smoke=10)
kim_history = kim_model.fit(x_fit[fit], y_fit[fit], batch_size=16, epochs=epochs,
                            validation_data=(x_fit[validation], y_fit[validation]), verbose=2,
                            callbacks=[keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=8,
                                                                     restore_best_weights=True)])
plots.learning_curves(kim_history)
plt.show()

# %% kind="test" id="sentence_f1" points=3
predicted = np.concatenate([np.asarray(kim_model(sentence_data.x_test[start:start + 256], training=False)).argmax(axis=1)
                            for start in range(0, len(sentence_data.x_test), 256)])
matrix = confusion_matrix(sentence_data.y_test, predicted, labels=[0, 1])
macro_f1 = f1_score(sentence_data.y_test, predicted, average="macro", labels=[0, 1], zero_division=0)
plots.confusion_matrix(matrix, sentence_data.class_names)
plt.show()
print(f"macro-F1 {macro_f1:.4f} on {len(sentence_data.y_test)} test texts of {sentence_data.description}")
check_grader_threshold(lab, "macro_f1", macro_f1, sentence_data, hint="is kim_model trained?")
