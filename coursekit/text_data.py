"""Text for the labs: movie-review sentiment online (IMDB); offline, review or news sentences (gensim).

Online (``COURSE_DATA=keras``, the default) the 50 000 IMDB reviews of Maas et al. (2011)
come through Keras's own download-and-cache, from the origin and with the SHA-256 that
``keras.datasets.imdb`` uses (``imdb.npz``), together with ``imdb_word_index.json``
(format-checked: a JSON object of word -> rank). A corrupt or partial file is removed and
fetched again; after three failures a ``DatasetError`` says which file and what to do.

Offline (``COURSE_DATA=offline``), ``load_imdb`` gives the 200 real movie-review sentences
that ship inside gensim (``gensim/test/test_data/pang_lee_polarity.cor``, 100 negative and
100 positive, from Pang & Lee's sentence-polarity data), tokenised and split 160 / 40,
balanced, with a fixed seed. That is too few to learn sentiment from (held-out macro-F1
0.46-0.65 over five seeds for lab 07's BiLSTM), so no lab is graded on it.

Labs 07 (BiLSTM) and 08 (Kim's sentence CNN) are graded on ``load_sentences``: online the
same IMDB reviews; offline a task that this little data can teach, in the manner of Kim's
SUBJ data (Pang & Lee 2004, opinionated review snippets against objective plot summaries):
the 200 Pang & Lee review sentences against 200 news sentences drawn with a fixed seed from
gensim's ``lee_background.cor`` (ABC news stories), split 160 / 40 per class.

All of them give a ``TextDataset`` with the same token scheme::

    0 = padding, 1 = out-of-vocabulary, 2, 3, ... = words by decreasing training frequency

so ``vocabulary[i]`` is the word of token id ``i``. Every sequence has the same length:
longer texts keep their last ``length`` tokens, shorter ones are padded with 0 in front.
"""

import collections
import dataclasses
import json
import os
import re

import numpy as np

from coursekit.data import DataSet, DatasetError, RemoteFile, fetch_and_read
from coursekit.lab import DATA_MODES, Budget, budget_from_env, data_mode_from_env

PAD, OOV = 0, 1
SENTIMENT_CLASSES = ("negative", "positive")
SOURCE_CLASSES = ("movie review", "news report")
NEWS_SENTENCE_TOKENS = (8, 40)   # the news sentences drawn: 8 to 40 tokens, like the review sentences

IMDB_VOCABULARY = 20_000   # token ids 0 .. 19 999 (padding, <unk> and 19 998 words)
IMDB_LENGTH = 200          # tokens per review (keras-io's IMDB LSTM example uses 200 too)
POLARITY_LENGTH = 40       # the longest offline sentence has 46 tokens, 95 % have at most 36
POLARITY_MIN_COUNT = 1     # every training word of the offline set gets an id
OFFLINE_SPLIT_SEED = 20020707
OFFLINE_TEST_PER_CLASS = 20
SMOKE_TRAIN, SMOKE_TEST = 1000, 500

TOKEN_PATTERN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[!?]")


# ---------------------------------------------------------------------- the data set


@dataclasses.dataclass(frozen=True)
class TextDataset:
    """Labelled token sequences, split into training and held-out test data.

    Attributes:
        key: the threshold tables' name for this data: "imdb", "polarity_offline" or "subjectivity_offline".
        description: one line saying which data this is and where it came from.
        x_train: int32 (n_train, length) token ids (0 padding, 1 <unk>, 2.. words).
        y_train: int32 (n_train,) labels: indices into ``class_names`` (sentiment: 0 negative, 1 positive).
        x_test: int32 (n_test, length).
        y_test: int32 (n_test,).
        vocabulary: tuple of str; vocabulary[i] is the word of token id i
            (vocabulary[0] == "<pad>", vocabulary[1] == "<unk>").
        class_names: ("negative", "positive"), or ("movie review", "news report") for ``load_sentences`` offline.
    """

    key: str
    description: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    vocabulary: tuple
    class_names: tuple = SENTIMENT_CLASSES

    @property
    def is_offline(self) -> bool:
        return self.key.endswith("_offline")

    @property
    def length(self) -> int:
        return int(self.x_train.shape[1])

    def model_inputs(self, x) -> np.ndarray:
        """What a classifier of this data takes for ``x``: the token ids as int32 (n, length)."""
        return np.asarray(x, dtype=np.int32)

    def decode(self, ids) -> str:
        """The words of a sequence of token ids, padding left out."""
        return " ".join(self.vocabulary[int(i)] for i in np.asarray(ids).ravel() if int(i) != PAD)

    def summary(self) -> str:
        words = int(np.mean(np.sum(self.x_train != PAD, axis=1)))
        return (f"[data] {self.description}: {len(self.y_train)} training / {len(self.y_test)} test texts, "
                f"{self.length} tokens each (about {words} words on average before padding), "
                f"vocabulary {len(self.vocabulary)} ids; {self.class_names[1]!r} share "
                f"{float(np.mean(self.y_train)):.2f} (train), {float(np.mean(self.y_test)):.2f} (test)")


def tokenize(text: str) -> list:
    """Lower-case words (with their apostrophe part: "it's", "don't") and ! and ?."""
    return TOKEN_PATTERN.findall(text.lower())


def build_vocabulary(token_lists, size: int | None = None, min_count: int = 1) -> tuple:
    """("<pad>", "<unk>", words by decreasing count, ties alphabetical), at most ``size`` ids."""
    counts = collections.Counter(word for tokens in token_lists for word in tokens)
    words = sorted((word for word, count in counts.items() if count >= min_count),
                   key=lambda word: (-counts[word], word))
    if size is not None:
        words = words[: size - 2]
    return ("<pad>", "<unk>", *words)


def pad_sequences(sequences, length: int) -> np.ndarray:
    """int32 (n, length): each sequence's last ``length`` ids, padded with 0 in front."""
    padded = np.zeros((len(sequences), length), dtype=np.int32)
    for row, sequence in enumerate(sequences):
        kept = list(sequence)[-length:]
        if kept:
            padded[row, length - len(kept):] = kept
    return padded


def _apply_budget(dataset: TextDataset, budget: Budget) -> TextDataset:
    if budget.max_train is None and budget.max_test is None:
        return dataset
    n_train, n_test = budget.cap(len(dataset.y_train), SMOKE_TRAIN), budget.cap(len(dataset.y_test), SMOKE_TEST)
    if (n_train, n_test) == (len(dataset.y_train), len(dataset.y_test)):
        return dataclasses.replace(dataset, description=f"{dataset.description}; {budget.name} budget (all of it)")
    return dataclasses.replace(
        dataset, x_train=dataset.x_train[:n_train], y_train=dataset.y_train[:n_train],
        x_test=dataset.x_test[:n_test], y_test=dataset.y_test[:n_test],
        description=f"{dataset.description}; {budget.name} budget subset")


# ------------------------------------------------------------------ offline: Pang & Lee


def _polarity_path() -> str:
    import importlib.util

    found = importlib.util.find_spec("gensim")  # located, not imported: importing gensim takes seconds
    if found is None or not found.submodule_search_locations:
        raise DatasetError("COURSE_DATA=offline needs the 'gensim' package, which ships 200 movie-review "
                           "sentences; install it with `pip install -r requirements.txt`.")
    path = os.path.join(found.submodule_search_locations[0], "test", "test_data", "pang_lee_polarity.cor")
    if not os.path.isfile(path):
        raise DatasetError(f"{path} is missing; reinstall gensim (`pip install -r requirements.txt`).")
    return path


def read_polarity(path: str) -> tuple:
    """The sentences and labels of a ``__label__neg|pos sentence`` file: (list of str, int array)."""
    texts, labels = [], []
    with open(path, encoding="cp1252") as stream:  # the file is Windows-1252 ("\x97" is an em dash)
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            label, _, text = line.strip().partition(" ")
            if label not in ("__label__neg", "__label__pos") or not text:
                raise DatasetError(f"{path}, line {number}: expected '__label__neg|__label__pos sentence', "
                                   f"found {line[:60]!r}")
            texts.append(text)
            labels.append(int(label == "__label__pos"))
    return texts, np.asarray(labels, dtype=np.int32)


def _split_and_encode(texts, labels, test_per_class: int, **dataset_fields) -> TextDataset:
    """Hold out ``test_per_class`` texts of each class (fixed seed), build the vocabulary on the
    training texts, and encode both splits."""
    rng = np.random.default_rng(OFFLINE_SPLIT_SEED)
    train_index, test_index = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        test_index.extend(members[:test_per_class])
        train_index.extend(members[test_per_class:])
    train_index, test_index = rng.permutation(train_index), rng.permutation(test_index)
    tokens = [tokenize(text) for text in texts]
    vocabulary = build_vocabulary([tokens[i] for i in train_index], min_count=POLARITY_MIN_COUNT)
    ids = {word: index for index, word in enumerate(vocabulary)}
    encode = lambda index: [ids.get(word, OOV) for word in tokens[index]]  # noqa: E731
    return TextDataset(
        x_train=pad_sequences([encode(i) for i in train_index], POLARITY_LENGTH), y_train=labels[train_index],
        x_test=pad_sequences([encode(i) for i in test_index], POLARITY_LENGTH), y_test=labels[test_index],
        vocabulary=vocabulary, **dataset_fields)


def _polarity_sentences() -> tuple:
    texts, labels = read_polarity(_polarity_path())
    if len(texts) != 200 or int(labels.sum()) != 100:
        raise DatasetError(f"pang_lee_polarity.cor: expected 100 negative and 100 positive sentences, "
                           f"found {len(texts) - int(labels.sum())} and {int(labels.sum())}")
    return texts, labels


def load_polarity_offline() -> TextDataset:
    """The 200 Pang & Lee sentences in gensim, split 160 train / 40 test (20 per class held out)."""
    texts, labels = _polarity_sentences()
    return _split_and_encode(
        texts, labels, OFFLINE_TEST_PER_CLASS, key="polarity_offline",
        description=("OFFLINE: 200 real movie-review sentences (Pang & Lee sentence polarity) shipped in gensim's "
                     "test data, standing in for IMDB (COURSE_DATA=offline)"))


SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


def news_sentences(count: int) -> list:
    """``count`` different sentences of gensim's ``lee_background.cor`` (ABC news), drawn with a fixed
    seed among those of NEWS_SENTENCE_TOKENS tokens, in file order."""
    from coursekit.corpus_data import gensim_test_file

    with open(gensim_test_file("lee_background.cor"), encoding="utf8") as stream:
        stories = [line.strip() for line in stream if line.strip()]
    if len(stories) != 300:
        raise DatasetError(f"lee_background.cor holds {len(stories)} stories, expected 300")
    low, high = NEWS_SENTENCE_TOKENS
    sentences = list(dict.fromkeys(sentence for story in stories for sentence in SENTENCE_END.split(story)
                                   if low <= len(tokenize(sentence)) <= high))  # each sentence once
    if len(sentences) < count:
        raise DatasetError(f"lee_background.cor gave {len(sentences)} sentences of {low}-{high} tokens, "
                           f"fewer than the {count} needed")
    chosen = np.sort(np.random.default_rng(OFFLINE_SPLIT_SEED).choice(len(sentences), count, replace=False))
    return [sentences[index] for index in chosen]


def load_subjectivity_offline() -> TextDataset:
    """Review sentences (class 0) against news sentences (class 1), 200 each, split 160 / 40 per class."""
    reviews, _ = _polarity_sentences()
    texts = list(reviews) + news_sentences(len(reviews))
    labels = np.repeat(np.arange(2, dtype=np.int32), len(reviews))
    return _split_and_encode(
        texts, labels, OFFLINE_TEST_PER_CLASS * 2, key="subjectivity_offline", class_names=SOURCE_CLASSES,
        description=("OFFLINE: 200 real movie-review sentences (Pang & Lee) against 200 real news sentences (ABC "
                     "news, gensim's lee_background.cor), both shipped in gensim's test data, standing in for IMDB "
                     "sentiment (COURSE_DATA=offline)"))


# ------------------------------------------------------------------------ online: IMDB


def _read_imdb_npz(path: str) -> dict:
    """The four arrays of Keras's ``imdb.npz`` (ragged word-rank lists), read with Keras's
    restricted unpickler (it rebuilds NumPy arrays and nothing else)."""
    from keras.src.datasets import npz_utils

    arrays = npz_utils.load_npz(path)
    found = {key: arrays[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    for part in ("train", "test"):
        x, y = found[f"x_{part}"], found[f"y_{part}"]
        if len(x) != len(y) or len(x) == 0:
            raise ValueError(f"imdb.npz: x_{part} has {len(x)} reviews but y_{part} {len(y)} labels")
        if not set(np.unique(y).tolist()) <= {0, 1}:
            raise ValueError(f"imdb.npz: y_{part} holds labels other than 0 and 1")
    return found


def _read_word_index(path: str) -> dict:
    with open(path, encoding="utf-8") as stream:
        index = json.load(stream)
    if not isinstance(index, dict) or not index or not all(
            isinstance(word, str) and isinstance(rank, int) and rank >= 1 for word, rank in index.items()):
        raise ValueError("imdb_word_index.json is not a JSON object of word -> rank (int >= 1)")
    return index


IMDB_FILES = (
    RemoteFile("imdb.npz", _read_imdb_npz,
               file_hash="69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"),
    RemoteFile("imdb_word_index.json", _read_word_index, file_hash="bfafd718b763782e994055a2d397834f"),
)


def reindex_imdb(arrays: dict, word_index: dict, vocabulary_size: int = IMDB_VOCABULARY,
                 length: int = IMDB_LENGTH) -> TextDataset:
    """Keras's raw IMDB (word ranks 1.. over the whole corpus) in this module's token scheme.

    Words get ids 2.. by decreasing frequency in the *training* reviews; the rest become 1.
    """
    rank_to_word = {rank: word for word, rank in word_index.items()}
    counts = collections.Counter(int(rank) for review in arrays["x_train"] for rank in review)
    kept = sorted(counts, key=lambda rank: (-counts[rank], rank))[: vocabulary_size - 2]
    highest = max(max(counts), max(rank_to_word), max((max(r, default=0) for r in arrays["x_test"]), default=0))
    new_id = np.full(highest + 1, OOV, dtype=np.int32)
    new_id[kept] = np.arange(2, len(kept) + 2, dtype=np.int32)
    vocabulary = ("<pad>", "<unk>", *(rank_to_word.get(rank, f"<rank {rank}>") for rank in kept))

    def encode(reviews):
        return pad_sequences([new_id[np.asarray(review, dtype=np.int64)] for review in reviews], length)

    return TextDataset(
        key="imdb", description="IMDB movie reviews (Maas et al. 2011), via Keras's download cache",
        x_train=encode(arrays["x_train"]), y_train=np.asarray(arrays["y_train"], dtype=np.int32),
        x_test=encode(arrays["x_test"]), y_test=np.asarray(arrays["y_test"], dtype=np.int32),
        vocabulary=vocabulary)


def _load_imdb_online(files=IMDB_FILES, **fetch_options) -> TextDataset:
    subdir = "datasets"
    arrays = fetch_and_read(files[0], subdir, **fetch_options)
    word_index = fetch_and_read(files[1], subdir, **fetch_options)
    dataset = reindex_imdb(arrays, word_index)
    # A fixed shuffle (the file is sorted by label), so that budget subsets hold both classes.
    order_train = np.random.default_rng(OFFLINE_SPLIT_SEED).permutation(len(dataset.y_train))
    order_test = np.random.default_rng(OFFLINE_SPLIT_SEED + 1).permutation(len(dataset.y_test))
    return dataclasses.replace(dataset, x_train=dataset.x_train[order_train], y_train=dataset.y_train[order_train],
                               x_test=dataset.x_test[order_test], y_test=dataset.y_test[order_test])


def load_imdb(mode: str | None = None, budget: Budget | None = None, verbose: bool = True,
              **fetch_options) -> TextDataset:
    """IMDB sentiment, or the offline Pang & Lee sentences when ``COURSE_DATA=offline``.

    Args:
        mode: "keras" or "offline"; None reads ``COURSE_DATA``.
        budget: a ``Budget``; None reads ``COURSE_BUDGET``. The smoke budget keeps at most
            1 000 training and 500 test texts (the offline set is smaller than that already).
        verbose: print which data was loaded.
        fetch_options: ``origin_base``, ``cache_dir``, ``attempts`` for ``fetch_and_read``
            (and ``files``, the two ``RemoteFile`` entries, for tests).
    """
    mode = mode or data_mode_from_env()
    if mode not in DATA_MODES:
        raise ValueError(f"data mode {mode!r} is not one of {DATA_MODES}")
    budget = budget or budget_from_env()
    dataset = load_polarity_offline() if mode == "offline" else _load_imdb_online(**fetch_options)
    dataset = _apply_budget(dataset, budget)
    if verbose:
        print(dataset.summary())
    return dataset


def load_sentences(mode: str | None = None, budget: Budget | None = None, verbose: bool = True,
                   **fetch_options) -> TextDataset:
    """Labs 07's and 08's text classification: IMDB sentiment online (as ``load_imdb``); offline, movie-review
    sentences against news sentences (``load_subjectivity_offline``). Arguments as for ``load_imdb``."""
    mode = mode or data_mode_from_env()
    if mode != "offline":
        return load_imdb(mode, budget, verbose, **fetch_options)
    dataset = _apply_budget(load_subjectivity_offline(), budget or budget_from_env())
    if verbose:
        print(dataset.summary())
    return dataset


DATA_SETS = {"imdb": DataSet(load=load_imdb, keys={"keras": "imdb", "offline": "polarity_offline"}),
             "sentences": DataSet(load=load_sentences, keys={"keras": "imdb", "offline": "subjectivity_offline"})}
