"""Lab 08's corpora: gensim's files offline; text8 through Keras's download-and-cache, tested on a file:// mirror."""

import zipfile

import pytest

from coursekit import corpus_data
from coursekit.corpus_data import load_corpus, read_analogies, read_text8, read_wordsim353, tokenize
from coursekit.data import DatasetError, load_data
from coursekit.lab import BUDGETS


def test_offline_corpus_is_real_news_and_the_same_every_time(capsys):
    first = load_corpus(mode="offline", budget=BUDGETS["full"])
    assert "OFFLINE" in capsys.readouterr().out
    second = load_corpus(mode="offline", budget=BUDGETS["full"], verbose=False)
    assert first.key == "lee_offline" and first.description.startswith("OFFLINE: lee_background.cor")
    assert len(first.sentences) == 300 and 55_000 < first.n_tokens < 65_000
    assert first.sentences == second.sentences
    assert first.sentences[0][:6] == ("hundreds", "of", "people", "have", "been", "forced")
    assert all(word.isalpha() and word.islower() for sentence in first.sentences for word in sentence)


def test_evaluation_sets_are_the_canonical_files():
    pairs = read_wordsim353()
    assert len(pairs) == 353 and pairs[0] == ("love", "sex", 6.77) and ("tiger", "cat", 7.35) in pairs
    questions = read_analogies()
    assert len(questions) == 19544 and questions[0] == ("athens", "greece", "baghdad", "iraq")


def test_registry_finds_the_corpus():
    corpus = load_data("corpus", mode="offline", budget=BUDGETS["smoke"], verbose=False)
    assert corpus.key == "lee_offline"


def test_tokenize_keeps_letters_only():
    assert tokenize("Don't stop: 4:00pm, U.S.-led!") == ["don", "t", "stop", "pm", "u", "s", "led"]


def test_data_mode_is_explicit():
    with pytest.raises(ValueError, match="data mode 'web' is not one of"):
        load_corpus(mode="web", verbose=False)


# ------------------------------------------------------- text8 through Keras's cache


def _cache(tmp_path) -> str:
    folder = tmp_path / "cache"
    folder.mkdir(exist_ok=True)  # Keras falls back to /tmp/.keras when the cache folder does not exist
    return str(folder)


def _write_text8(path, text: str):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("text8", text)


@pytest.fixture()
def small_text8(monkeypatch):
    """A text8 of 12 000 characters: the reader's size check is lowered to match."""
    text = (" anarchism originated as a term of abuse first used against early working class radicals" * 200)[:12000]
    monkeypatch.setattr(corpus_data, "TEXT8_CHARS", len(text))
    return text


def test_text8_through_the_mirror(tmp_path, small_text8, capsys):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _write_text8(mirror / "text8.zip", small_text8)
    corpus = load_corpus(mode="keras", budget=BUDGETS["smoke"], origin_base=mirror.as_uri(),
                         cache_dir=_cache(tmp_path))
    words = [word for sentence in corpus.sentences for word in sentence]
    assert corpus.key == "text8" and words[:4] == ["anarchism", "originated", "as", "a"]
    assert words == small_text8.split()[:len(words)] and len(corpus.sentences[0]) <= corpus_data.SENTENCE_LENGTH
    assert (tmp_path / "cache" / "datasets" / "text8" / "text8.zip").exists()
    assert "text8" in capsys.readouterr().out


def test_text8_reader_keeps_a_prefix_of_whole_words(tmp_path, small_text8):
    _write_text8(tmp_path / "text8.zip", small_text8)
    words = read_text8(str(tmp_path / "text8.zip"), max_words=50)
    assert list(words) == small_text8.split()[:50]


@pytest.mark.parametrize("content, message", [
    ("Anarchism ORIGINATED", "only the letters a-z and spaces"),
    ("short", "text8 holds 5 characters"),
])
def test_text8_reader_refuses_a_wrong_file(tmp_path, small_text8, content, message):
    text = content + small_text8[len(content):] if message.startswith("only") else content
    _write_text8(tmp_path / "text8.zip", text)
    with pytest.raises(ValueError, match=message):
        read_text8(str(tmp_path / "text8.zip"), max_words=100)


def test_corrupt_download_is_retried_then_explained(tmp_path, small_text8, capsys):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _write_text8(mirror / "text8.zip", small_text8)
    raw = bytearray((mirror / "text8.zip").read_bytes())
    raw[60:80] = bytes(20)  # damage the compressed data: the CRC (or inflate) fails
    (mirror / "text8.zip").write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match=r"Could not get a valid copy of 'text8.zip'.*after 3 attempts"):
        load_corpus(mode="keras", budget=BUDGETS["smoke"], origin_base=mirror.as_uri(),
                    cache_dir=_cache(tmp_path), verbose=False)
    assert "attempt 2 of 3 failed" in capsys.readouterr().out
    assert not (tmp_path / "cache" / "datasets" / "text8" / "text8.zip").exists()


def test_partial_download_is_refused(tmp_path, small_text8):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _write_text8(mirror / "text8.zip", small_text8)
    raw = (mirror / "text8.zip").read_bytes()
    (mirror / "text8.zip").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DatasetError, match="text8.zip"):
        load_corpus(mode="keras", budget=BUDGETS["smoke"], origin_base=mirror.as_uri(),
                    cache_dir=_cache(tmp_path), attempts=2, verbose=False)


def test_mirror_variable_is_used(tmp_path, small_text8, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _write_text8(mirror / "text8.zip", small_text8)
    monkeypatch.setenv("COURSE_DATA_MIRROR", mirror.as_uri())
    corpus = load_corpus(mode="keras", budget=BUDGETS["smoke"], cache_dir=_cache(tmp_path), verbose=False)
    assert corpus.sentences[0][0] == "anarchism"
