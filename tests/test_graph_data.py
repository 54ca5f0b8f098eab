"""Lab 14's graphs: the karate club and the motif graphs (offline), Cora through a file:// mirror."""

import io
import tarfile

import networkx
import numpy as np
import pytest

from coursekit import graph_data
from coursekit.data import DatasetError, data_set, load_data
from coursekit.graph_data import load_cora, load_karate_club, load_motif_graphs, motif_edges, motif_graph
from coursekit.lab import BUDGETS


def test_karate_club_is_networkx_graph_with_a_fixed_split():
    club = load_karate_club(mode="offline", verbose=False)
    graph = networkx.karate_club_graph()
    assert club.key == "karate_club" and club.description.startswith("OFFLINE: Zachary's karate club")
    assert club.adjacency.shape == (34, 34) and club.adjacency.sum() == 2 * graph.number_of_edges() == 156
    np.testing.assert_array_equal(club.adjacency, club.adjacency.T)
    assert not np.diag(club.adjacency).any() and set(np.unique(club.adjacency)) == {0.0, 1.0}
    assert club.labels[0] == 0 and club.labels[33] == 1 and np.bincount(club.labels).tolist() == [17, 17]
    parts = [set(club.train_index), set(club.val_index), set(club.test_index)]
    assert {0, 33} <= parts[0] and sum(map(len, parts)) == 34 and set().union(*parts) == set(range(34))
    assert np.bincount(club.labels[club.train_index]).tolist() == [3, 3]
    again = load_karate_club(mode="keras", verbose=False)  # ships with networkx: the same in both modes
    np.testing.assert_array_equal(again.test_index, club.test_index)
    assert again.key == club.key and not again.description.startswith("OFFLINE")


def test_registry_finds_the_graph_data_sets():
    assert data_set("karate_club").keys == {"keras": "karate_club", "offline": "karate_club"}
    assert data_set("motif_graphs").keys == {"keras": "motif_graphs", "offline": "motif_graphs"}
    graphs = load_data("motif_graphs", mode="offline", budget=BUDGETS["smoke"], verbose=False)
    assert graphs.key == "motif_graphs" and "smoke budget subset" in graphs.description


@pytest.mark.parametrize("kind, edges", [("path", 4), ("cycle", 5), ("house", 6)])
def test_motifs_are_the_named_subgraphs(kind, edges):
    graph = networkx.Graph(motif_edges(kind, 0))
    assert graph.number_of_edges() == edges and graph.number_of_nodes() == 5
    cycles = networkx.cycle_basis(graph)
    assert [len(cycle) for cycle in sorted(cycles, key=len)] == {"path": [], "cycle": [5], "house": [3, 4]}[kind]


def test_a_generated_graph_holds_its_motif():
    rng = np.random.default_rng(0)
    for label, kind in enumerate(graph_data.MOTIF_KINDS):
        adjacency = motif_graph(label, rng)
        graph = networkx.from_numpy_array(adjacency)
        assert adjacency.shape == (24, 24) and networkx.is_connected(graph)
        motif = networkx.Graph(motif_edges(kind, 0))
        matcher = networkx.algorithms.isomorphism.GraphMatcher(graph, motif)
        assert matcher.subgraph_is_monomorphic(), kind


def test_motif_graphs_are_balanced_deterministic_and_need_more_than_edge_counts(capsys):
    first = load_motif_graphs(mode="offline", budget=BUDGETS["smoke"])
    assert "OFFLINE: graphs generated with networkx" in capsys.readouterr().out
    second = load_motif_graphs(mode="offline", budget=BUDGETS["smoke"], verbose=False)
    np.testing.assert_array_equal(first.adjacency_train, second.adjacency_train)
    assert first.adjacency_train.shape == (300, 24, 24) and first.features_train.shape == (300, 24, 6)
    assert first.adjacency_test.shape == (150, 24, 24)
    assert np.bincount(first.y_train).tolist() == [100, 100, 100]
    np.testing.assert_array_equal(first.features_train.sum(axis=2), np.ones((300, 24)))  # one-hot degrees
    edges = first.adjacency_train.sum(axis=(1, 2)) / 2
    ranges = [(edges[first.y_train == k].min(), edges[first.y_train == k].max()) for k in range(3)]
    assert ranges[0][1] >= ranges[1][0] and ranges[1][1] >= ranges[2][0], ranges  # edge counts overlap
    full = load_motif_graphs(mode="keras", budget=BUDGETS["full"], verbose=False)
    assert len(full.y_train) == 900 and len(full.y_test) == 300


# ------------------------------------------------------------------ Cora through a file:// mirror


def _cora_archive(path, papers=12, words=6, drop_citation_target=False, broken_line=False):
    """A small file in LINQS's cora.tgz format: cora/cora.content and cora/cora.cites."""
    rng = np.random.default_rng(5)
    ids = [str(1000 + 7 * index) for index in range(papers)]
    lines = []
    for index, paper in enumerate(ids):
        flags = " ".join(str(flag) for flag in rng.integers(0, 2, words))
        topic = graph_data.CORA_CLASSES[index % len(graph_data.CORA_CLASSES)]
        lines.append(f"{paper}\t{flags}\t{topic}" if not (broken_line and index == 3) else f"{paper}\t{topic}")
    cites = [f"{ids[index]}\t{ids[(index + 1) % papers]}" for index in range(papers)]
    if drop_citation_target:
        cites[0] = f"{ids[0]}\t999999"
    with tarfile.open(path, "w:gz") as archive:
        for name, text in (("cora/cora.content", "\n".join(lines) + "\n"), ("cora/cora.cites", "\n".join(cites) + "\n")):
            data = text.encode("ascii")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def small_cora(monkeypatch, tmp_path):
    """Canonical counts of the small file; the cache folder exists (Keras falls back to
    /tmp/.keras for a cache_dir it cannot write to, and a missing one counts as such)."""
    monkeypatch.setattr(graph_data, "CORA_COUNTS", {"papers": 12, "words": 6, "citations": 12})
    monkeypatch.setattr(graph_data, "CORA_TRAIN_PER_CLASS", 1)
    (tmp_path / "cache").mkdir()


def test_cora_downloads_through_the_keras_cache(small_cora, tmp_path, capsys):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _cora_archive(mirror / "cora.tgz")
    cora = load_cora(mode="keras", origin_base=mirror.as_uri(), cache_dir=str(tmp_path / "cache"))
    assert cora.key == "cora" and cora.adjacency.shape == (12, 12) and cora.features.shape == (12, 6)
    np.testing.assert_array_equal(cora.adjacency, cora.adjacency.T)
    assert cora.adjacency.sum() == 24  # a ring of 12 citations, both directions
    np.testing.assert_allclose(cora.features.sum(axis=1)[cora.features.sum(axis=1) > 0], 1.0, rtol=1e-6)
    assert len(cora.train_index) == 7 and not set(cora.train_index) & set(cora.test_index)
    assert (tmp_path / "cache" / "datasets" / "cora.tgz").exists()
    assert "Downloading data from" in capsys.readouterr().out


def test_cora_mirror_variable_is_used(small_cora, tmp_path, monkeypatch):
    mirror = tmp_path / "classroom"
    mirror.mkdir()
    _cora_archive(mirror / "cora.tgz")
    monkeypatch.setenv("COURSE_DATA_MIRROR", mirror.as_uri())
    assert load_cora(mode="keras", cache_dir=str(tmp_path / "cache"), verbose=False).n_nodes == 12


def test_corrupt_cached_cora_is_fetched_again(small_cora, tmp_path, capsys):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    good = _cora_archive(mirror / "cora.tgz").read_bytes()
    cache = tmp_path / "cache" / "datasets"
    cache.mkdir()
    (cache / "cora.tgz").write_bytes(good[: len(good) // 2])  # a partial download
    cora = load_cora(mode="keras", origin_base=mirror.as_uri(), cache_dir=str(tmp_path / "cache"), verbose=False)
    assert cora.n_nodes == 12
    assert "attempt 1 of 3 failed" in capsys.readouterr().out
    assert (cache / "cora.tgz").read_bytes() == good


@pytest.mark.parametrize("variant, reason", [
    ({"papers": 11}, "cora.content lists 11 papers, expected 12"),
    ({"drop_citation_target": True}, "cora.cites names papers that cora.content lacks"),
    ({"broken_line": True}, "cora.content line 4 is not '<id> <6 word flags> <class>'"),
])
def test_malformed_cora_gives_a_clear_error(small_cora, tmp_path, variant, reason):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _cora_archive(mirror / "cora.tgz", **variant)
    with pytest.raises(DatasetError) as failure:
        load_cora(mode="keras", origin_base=mirror.as_uri(), cache_dir=str(tmp_path / "cache"), verbose=False)
    message = str(failure.value)
    assert "Could not get a valid copy of 'cora.tgz'" in message and "after 3 attempts" in message
    assert reason in message
    assert not (tmp_path / "cache" / "datasets" / "cora.tgz").exists()


def test_cora_is_never_a_silent_fallback_offline():
    with pytest.raises(DatasetError, match="COURSE_DATA=offline forbids it"):
        load_cora(mode="offline")
