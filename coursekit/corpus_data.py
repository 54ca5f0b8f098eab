"""Text corpora for lab 08 (embeddings): text8 online, a real news corpus offline.

Online (``COURSE_DATA=keras``) the corpus is Matt Mahoney's ``text8`` (the first 10^8
characters of an English Wikipedia dump, lower-cased, letters and spaces only), downloaded
once through Keras's download-and-cache (``keras.utils.get_file``) into
``~/.keras/datasets/text8/``. The zip is checked after it arrives: its CRC-32 (the whole
member is read), its single member ``text8`` of exactly 100 000 000 characters, and only
letters and spaces in the part the lab uses. A corrupt or partial file is removed and
fetched again; after three failures a ``DatasetError`` says what to do. A lab uses a prefix
of it (a budget cap), so the full budget fits in minutes on a laptop.

Offline (``COURSE_DATA=offline``) the corpus is ``lee_background.cor`` from gensim's test
data: 300 real news stories (Australian Broadcasting Corporation, 2001; Lee, Pincombe and
Welsh 2005), about 60 000 words.

In both modes the evaluation sets are the canonical files that gensim ships:
``wordsim353.tsv`` (Finkelstein et al. 2002: 353 word pairs with human relatedness scores)
and ``questions-words.txt`` (Mikolov et al. 2013: 19 544 analogy questions).
"""

import dataclasses
import functools
import os
import re
import zipfile

from coursekit.data import DataSet, DatasetError, MIRROR_VARIABLE, RemoteFile, fetch_and_read
from coursekit.lab import DATA_MODES, Budget, budget_from_env, data_mode_from_env

TEXT8_ORIGIN = "http://mattmahoney.net/dc/"
TEXT8_FILE = "text8.zip"
TEXT8_MEMBER = "text8"
TEXT8_CHARS = 100_000_000
TEXT8_CACHE = os.path.join("datasets", "text8")
SENTENCE_LENGTH = 1000  # text8 has no sentence breaks: it is cut into pieces of this many words

# Words of the corpus a lab reads, by data key and budget (None: all of it).
TOKEN_CAPS = {
    ("text8", "full"): 400_000, ("text8", "smoke"): 60_000,
    ("lee_offline", "full"): None, ("lee_offline", "smoke"): None,
}
CHARS_PER_TOKEN = 6.5  # text8 averages ~5.9 characters per word with its space; read a little more

WORD = re.compile(r"[a-z]+")


@dataclasses.dataclass(frozen=True)
class CorpusDataset:
    """A tokenised corpus and the two evaluation sets of word embeddings.

    Attributes:
        key: the threshold tables' data key: "text8" or "lee_offline".
        description: one line saying which data this is and where it came from.
        sentences: tuple of tuples of lower-case words (str); windows never cross them.
        word_pairs: wordsim353, a tuple of (word1, word2, human score 0..10).
        analogies: questions-words, a tuple of (a, b, c, d) lower-case words: a is to b as c is to d.
    """

    key: str
    description: str
    sentences: tuple
    word_pairs: tuple
    analogies: tuple

    @property
    def n_tokens(self) -> int:
        return sum(len(sentence) for sentence in self.sentences)

    def summary(self) -> str:
        return (f"Data: {self.description} -- {len(self.sentences)} sentences, {self.n_tokens} words; "
                f"{len(self.word_pairs)} wordsim353 pairs, {len(self.analogies)} analogy questions")


def tokenize(text: str) -> list:
    """Lower-case words of letters only, as text8 writes them: "Don't stop!" -> ["don", "t", "stop"]."""
    return WORD.findall(text.lower())


# ------------------------------------------------------------------ gensim's files


def gensim_test_file(name: str) -> str:
    """The path of one of gensim's ``test/test_data`` files, or a DatasetError."""
    import importlib.util

    found = importlib.util.find_spec("gensim")  # located, not imported: importing gensim takes seconds
    if found is None or not found.submodule_search_locations:
        raise DatasetError(f"lab 08 needs the 'gensim' package, which ships {name}; "
                           "install it with `pip install -r requirements.txt`.")
    path = os.path.join(found.submodule_search_locations[0], "test", "test_data", name)
    if not os.path.isfile(path):
        raise DatasetError(f"{path} is missing from this gensim installation; reinstall gensim "
                           "(`pip install --force-reinstall gensim`).")
    return path


@functools.lru_cache(maxsize=1)
def read_wordsim353() -> tuple:
    """wordsim353 as (word1, word2, score): 353 pairs, words lower-cased."""
    pairs = []
    with open(gensim_test_file("wordsim353.tsv"), encoding="utf8") as stream:
        for line in stream:
            if line.startswith("#") or not line.strip():
                continue
            first, second, score = line.rstrip("\n").split("\t")
            pairs.append((first.lower(), second.lower(), float(score)))
    if len(pairs) != 353:
        raise DatasetError(f"wordsim353.tsv holds {len(pairs)} pairs, expected 353")
    return tuple(pairs)


@functools.lru_cache(maxsize=1)
def read_analogies() -> tuple:
    """questions-words as (a, b, c, d), lower-cased: 19 544 questions in 14 sections."""
    questions = []
    with open(gensim_test_file("questions-words.txt"), encoding="utf8") as stream:
        for line in stream:
            if line.startswith(":") or not line.strip():
                continue
            questions.append(tuple(word.lower() for word in line.split()))
    if len(questions) != 19544 or any(len(question) != 4 for question in questions):
        raise DatasetError(f"questions-words.txt holds {len(questions)} questions, expected 19544 of 4 words")
    return tuple(questions)


@functools.lru_cache(maxsize=1)
def _lee_sentences() -> tuple:
    with open(gensim_test_file("lee_background.cor"), encoding="utf8") as stream:
        stories = tuple(tuple(tokenize(line)) for line in stream if line.strip())
    if len(stories) != 300:
        raise DatasetError(f"lee_background.cor holds {len(stories)} stories, expected 300")
    return stories


# ------------------------------------------------------------------ text8


def read_text8(path: str, max_words: int | None = None) -> tuple:
    """Check a downloaded ``text8.zip`` and return its first ``max_words`` words (all if None).

    The whole member is read, so the zip's CRC-32 is verified; a wrong size, a second
    member or a character other than a-z and space raises ValueError.
    """
    max_chars = None if max_words is None else int(max_words * CHARS_PER_TOKEN) + 100
    kept, total = [], 0
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        if names != [TEXT8_MEMBER]:
            raise ValueError(f"the zip should hold one file {TEXT8_MEMBER!r}; it holds {names[:5]}")
        with archive.open(TEXT8_MEMBER) as stream:  # raises BadZipFile on a CRC mismatch at the end
            while chunk := stream.read(1 << 22):
                if max_chars is None or total < max_chars:
                    kept.append(chunk)
                total += len(chunk)
    if total != TEXT8_CHARS:
        raise ValueError(f"text8 holds {total} characters, expected {TEXT8_CHARS}")
    text = b"".join(kept)[:max_chars].decode("ascii", errors="replace")
    if re.search(r"[^a-z ]", text):
        raise ValueError("text8 should hold only the letters a-z and spaces")
    words = text.split()
    if max_chars is not None and total > max_chars:
        words = words[:-1]  # the last word may be cut in half
    return tuple(words[:max_words])


def _load_text8(max_words, **fetch_options) -> tuple:
    origin_base = fetch_options.pop("origin_base", None) or os.environ.get(MIRROR_VARIABLE) or TEXT8_ORIGIN
    remote = RemoteFile(TEXT8_FILE, functools.partial(read_text8, max_words=max_words))
    words = fetch_and_read(remote, TEXT8_CACHE, origin_base=origin_base, **fetch_options)
    return tuple(tuple(words[start:start + SENTENCE_LENGTH]) for start in range(0, len(words), SENTENCE_LENGTH))


def _cap(sentences: tuple, max_words: int | None) -> tuple:
    """The first whole sentences holding at most ``max_words`` words (at least one sentence)."""
    if max_words is None:
        return sentences
    kept, total = [], 0
    for sentence in sentences:
        if kept and total + len(sentence) > max_words:
            break
        kept.append(sentence)
        total += len(sentence)
    return tuple(kept)


def load_corpus(mode: str | None = None, budget: Budget | None = None, verbose: bool = True,
                **fetch_options) -> CorpusDataset:
    """The lab 08 corpus with wordsim353 and the analogy questions.

    Args:
        mode: "keras" (text8, downloaded and cached) or "offline" (gensim's lee_background);
            None reads ``COURSE_DATA``.
        budget: a ``Budget``; None reads ``COURSE_BUDGET``. It caps the corpus's words
            (``TOKEN_CAPS``).
        verbose: print which data was loaded.
        fetch_options: passed to ``coursekit.data.fetch_and_read`` (``origin_base``,
            ``cache_dir``, ``attempts``); online only.
    """
    mode = mode or data_mode_from_env()
    if mode not in DATA_MODES:
        raise ValueError(f"data mode {mode!r} is not one of {DATA_MODES}")
    budget = budget or budget_from_env()
    if mode == "offline":
        key = "lee_offline"
        cap = TOKEN_CAPS[key, budget.name]
        sentences = _cap(_lee_sentences(), cap)
        description = ("OFFLINE: lee_background.cor from gensim's test data, 300 real ABC news stories "
                       "of 2001 (COURSE_DATA=offline)")
    else:
        key = "text8"
        cap = TOKEN_CAPS[key, budget.name]
        sentences = _load_text8(cap, **fetch_options)
        description = (f"text8 (English Wikipedia, Mahoney), its first {sum(map(len, sentences))} words, "
                       "via Keras's download cache")
    if cap is not None and mode == "offline":
        description += f"; {budget.name} budget subset"
    dataset = CorpusDataset(key, description, sentences, read_wordsim353(), read_analogies())
    if verbose:
        print(dataset.summary())
    return dataset


DATA_SETS = {"corpus": DataSet(load=load_corpus, keys={"keras": "text8", "offline": "lee_offline"})}
