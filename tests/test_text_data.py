"""coursekit.text_data: the offline Pang & Lee sentences, and IMDB through Keras's cache (a file:// mirror)."""

import hashlib
import json

import numpy as np
import pytest

from coursekit import text_data
from coursekit.data import DatasetError, LOADERS, RemoteFile, data_set
from coursekit.lab import BUDGETS
from coursekit.text_data import OOV, PAD, load_imdb, pad_sequences, reindex_imdb, tokenize


@pytest.fixture(scope="module")
def offline():
    return load_imdb(mode="offline", budget=BUDGETS["full"], verbose=False)


def test_offline_sentences_are_real_balanced_and_split_160_40(offline):
    assert offline.key == "polarity_offline" and offline.is_offline
    assert offline.description.startswith("OFFLINE: 200 real movie-review sentences")
    assert offline.x_train.shape == (160, text_data.POLARITY_LENGTH) and offline.x_test.shape == (40, 40)
    assert offline.x_train.dtype == np.int32 and offline.y_train.dtype == np.int32
    assert np.bincount(offline.y_train).tolist() == [80, 80] and np.bincount(offline.y_test).tolist() == [20, 20]
    assert offline.class_names == ("negative", "positive")
    train_rows = {row.tobytes() for row in offline.x_train}
    assert not any(row.tobytes() in train_rows for row in offline.x_test)


def test_offline_split_and_vocabulary_never_move(offline):
    again = load_imdb(mode="offline", budget=BUDGETS["full"], verbose=False)
    np.testing.assert_array_equal(again.x_test, offline.x_test)
    assert again.vocabulary == offline.vocabulary


def test_token_scheme_padding_unknown_and_frequency_order(offline):
    assert offline.vocabulary[:2] == ("<pad>", "<unk>")
    counts = np.bincount(offline.x_train.ravel(), minlength=len(offline.vocabulary))
    assert counts[1] == 0  # every training word has an id
    assert offline.vocabulary[2:5] == ("the", "a", "of")
    assert (offline.x_test == OOV).any()  # test words never seen in training
    # padding only in front
    for row in offline.x_train:
        nonzero = np.flatnonzero(row != PAD)
        assert nonzero.size and np.all(np.diff(nonzero) == 1) and nonzero[-1] == len(row) - 1


def test_vocabulary_orders_words_by_count_then_alphabet():
    vocabulary = text_data.build_vocabulary([["b", "a", "c", "a"], ["c", "d", "a"]], size=4)
    assert vocabulary == ("<pad>", "<unk>", "a", "c")


def test_decode_gives_back_the_tokens(offline):
    texts, labels = text_data.read_polarity(text_data._polarity_path())
    tokens = {" ".join(tokenize(text)) for text in texts}
    assert offline.decode(offline.x_train[0]) in tokens
    assert tokenize("It's a MESS -- isn't it?!") == ["it's", "a", "mess", "isn't", "it", "?", "!"]


def test_smoke_budget_keeps_the_whole_offline_set_and_says_so(capsys):
    smoke = load_imdb(mode="offline", budget=BUDGETS["smoke"])
    assert len(smoke.y_train) == 160
    assert "smoke budget (all of it)" in capsys.readouterr().out


def test_registry_finds_the_loader():
    assert LOADERS["imdb"] is load_imdb
    assert data_set("imdb").keys == {"keras": "imdb", "offline": "polarity_offline"}


def test_pad_sequences_keeps_the_last_tokens():
    np.testing.assert_array_equal(pad_sequences([[5, 6, 7, 8], [9], []], 3), [[6, 7, 8], [0, 0, 9], [0, 0, 0]])


def test_reindex_by_training_frequency_with_a_capped_vocabulary():
    word_index = {"the": 1, "good": 2, "bad": 3, "film": 4, "rare": 5}
    arrays = {"x_train": [[1, 4, 4, 2], [3, 4, 1, 1], [5]], "y_train": [1, 0, 1],
              "x_test": [[2, 3, 5, 4]], "y_test": [0]}
    dataset = reindex_imdb(arrays, word_index, vocabulary_size=4, length=3)
    # training counts: the 3, film 3, good 1, bad 1, rare 1 -> ids 2 "the", 3 "film" (ties by rank)
    assert dataset.vocabulary == ("<pad>", "<unk>", "the", "film")
    np.testing.assert_array_equal(dataset.x_train, [[3, 3, 1], [3, 2, 2], [0, 0, 1]])
    np.testing.assert_array_equal(dataset.x_test, [[1, 1, 3]])


# ------------------------------------------------------------------ IMDB through Keras's cache


def _write_imdb(folder, n=60):
    """A small imdb.npz laid out as Keras publishes it (ragged object arrays of word ranks)."""
    rng = np.random.default_rng(3)
    reviews = lambda count: np.array([[int(r) for r in rng.integers(1, 30, rng.integers(3, 12))] for _ in range(count)],  # noqa: E731
                                     dtype=object)
    labels = np.array([0] * (n // 2) + [1] * (n // 2))  # sorted by label, as the real file is
    np.savez(folder / "imdb.npz", x_train=reviews(n), y_train=labels, x_test=reviews(n), y_test=labels)
    (folder / "imdb_word_index.json").write_text(json.dumps({f"word{rank}": rank for rank in range(1, 30)}))
    return hashlib.sha256((folder / "imdb.npz").read_bytes()).hexdigest()


@pytest.fixture()
def mirror(tmp_path):
    (tmp_path / "cache").mkdir()  # an existing cache folder: Keras falls back to /tmp/.keras otherwise
    folder = tmp_path / "mirror"
    folder.mkdir()
    digest = _write_imdb(folder)
    files = (RemoteFile("imdb.npz", text_data._read_imdb_npz, file_hash=digest),
             RemoteFile("imdb_word_index.json", text_data._read_word_index))
    return folder, files


def test_download_through_keras_cache(mirror, tmp_path, capsys):
    folder, files = mirror
    dataset = load_imdb(mode="keras", budget=BUDGETS["full"], origin_base=folder.as_uri(),
                        cache_dir=str(tmp_path / "cache"), files=files)
    assert dataset.key == "imdb" and dataset.x_train.shape == (60, text_data.IMDB_LENGTH)
    assert dataset.vocabulary[2].startswith("word") and len(dataset.vocabulary) == 31
    assert 0 < dataset.y_train[:10].sum() < 10  # shuffled: a subset holds both classes
    assert (tmp_path / "cache" / "datasets" / "imdb.npz").exists()
    out = capsys.readouterr().out
    assert "IMDB movie reviews" in out


def test_corrupt_cached_files_are_replaced(mirror, tmp_path, capsys):
    folder, files = mirror
    cache = tmp_path / "cache" / "datasets"
    cache.mkdir()
    good = (folder / "imdb.npz").read_bytes()
    (cache / "imdb.npz").write_bytes(good[: len(good) // 2])  # a partial download: its checksum fails
    (cache / "imdb_word_index.json").write_text('{"the": 1, "go')  # no checksum: the format check fails
    dataset = load_imdb(mode="keras", budget=BUDGETS["smoke"], origin_base=folder.as_uri(),
                        cache_dir=str(tmp_path / "cache"), files=files, verbose=False)
    assert len(dataset.y_train) == 60
    out = capsys.readouterr().out
    assert "hash does not match" in out  # Keras's own checksum check fetched imdb.npz again
    assert "imdb_word_index.json: attempt 1 of 3 failed (JSONDecodeError" in out
    assert (cache / "imdb.npz").read_bytes() == good
    assert (cache / "imdb_word_index.json").read_bytes() == (folder / "imdb_word_index.json").read_bytes()


def test_corrupt_origin_gives_a_clear_error(tmp_path):
    origin = tmp_path / "origin"
    origin.mkdir()
    (origin / "imdb.npz").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "cache").mkdir()
    file = RemoteFile("imdb.npz", text_data._read_imdb_npz)
    with pytest.raises(DatasetError) as failure:
        text_data.fetch_and_read(file, "datasets", origin_base=origin.as_uri(), cache_dir=str(tmp_path / "cache"))
    message = str(failure.value)
    assert "Could not get a valid copy of 'imdb.npz'" in message and "after 3 attempts" in message
    assert "COURSE_DATA=offline" in message
    assert not (tmp_path / "cache" / "datasets" / "imdb.npz").exists()


def test_the_published_checksum_refuses_another_file(mirror, tmp_path):
    folder, _ = mirror
    with pytest.raises(DatasetError, match="file hash does not match"):
        text_data.fetch_and_read(text_data.IMDB_FILES[0], "datasets", origin_base=folder.as_uri(),
                                 cache_dir=str(tmp_path / "cache"), attempts=2)


def test_a_word_index_that_is_not_word_to_rank_is_refused(tmp_path):
    origin = tmp_path / "origin"
    origin.mkdir()
    (origin / "imdb_word_index.json").write_text(json.dumps(["the", "good"]))
    (tmp_path / "c").mkdir()
    file = RemoteFile("imdb_word_index.json", text_data._read_word_index)
    with pytest.raises(DatasetError, match="not a JSON object of word -> rank"):
        text_data.fetch_and_read(file, "datasets", origin_base=origin.as_uri(), cache_dir=str(tmp_path / "c"),
                                 attempts=1)


def test_offline_review_or_news_sentences_are_balanced_disjoint_and_named():
    dataset = text_data.load_sentences("offline", BUDGETS["full"], verbose=False)
    assert dataset.key == "subjectivity_offline" and dataset.class_names == ("movie review", "news report")
    assert (len(dataset.y_train), len(dataset.y_test)) == (320, 80)
    assert np.bincount(dataset.y_train).tolist() == [160, 160] and np.bincount(dataset.y_test).tolist() == [40, 40]
    train_texts = {dataset.decode(row) for row in dataset.x_train}
    assert not train_texts & {dataset.decode(row) for row in dataset.x_test}
    news = text_data.news_sentences(200)
    assert len(set(news)) == 200 and all(8 <= len(tokenize(sentence)) <= 40 for sentence in news)
    assert "news" in dataset.description and "Pang & Lee" in dataset.description
    assert data_set("sentences").keys == {"keras": "imdb", "offline": "subjectivity_offline"}


def test_online_sentences_are_imdb(monkeypatch):
    calls = []
    monkeypatch.setattr(text_data, "load_imdb", lambda *args, **kwargs: calls.append(args) or "imdb")
    assert text_data.load_sentences("keras", BUDGETS["smoke"], verbose=False) == "imdb" and calls
