"""Graphs for lab 14: Zachary's karate club, the Cora citation graph, and generated graphs
with a planted motif.

- ``load_karate_club`` (data set "karate_club", both data modes): the 34 members of
  Zachary's karate club (1977), shipped inside ``networkx``; 78 friendships; the faction
  each member joined after the club split ("Mr. Hi" or "Officer") is the node's class.
  A fixed small labelled training set (both leaders and two more members per faction), a
  fixed validation set, the other 22 members held out.
- ``load_cora`` (online only): the Cora citation graph (McCallum et al. 2000; LINQS's
  ``cora.tgz``, the file keras-io's graph examples use), through Keras's download-and-cache
  with a format check, a retry and a clear ``DatasetError``. 2 708 papers, 1 433-word
  bag-of-words features, 7 topics, 5 429 citations.
- ``load_motif_graphs`` (data set "motif_graphs", both data modes): graphs generated with
  ``networkx`` from fixed seeds. Each is a random Barabási–Albert tree with a few extra
  random edges, plus five nodes attached by one edge that form a path (no motif), a
  5-cycle or a "house" (a square with a roof: a triangle on top of a 4-cycle). The class
  says which; all graphs have the same number of nodes and, in distribution, about the same
  number of edges, so a classifier has to find the subgraph.

Arrays are plain NumPy: adjacency 0/1 float32, symmetric, zero diagonal (no self-loops).
TensorFlow and Keras are imported only inside the functions that need them.
"""

import dataclasses
import os
import tarfile

import numpy as np

from coursekit.data import MIRROR_VARIABLE, DataSet, DatasetError, RemoteFile, fetch_and_read
from coursekit.lab import Budget, budget_from_env, data_mode_from_env

KARATE_KEY = "karate_club"
CORA_KEY = "cora"
MOTIF_KEY = "motif_graphs"

KARATE_CLASSES = ("Mr. Hi", "Officer")
KARATE_LEADERS = (0, 33)          # Mr. Hi is node 0, the club's officer (John A.) node 33
KARATE_SPLIT_SEED = 1977          # fixed: the held-out members never move
KARATE_TRAIN_PER_CLASS = 3        # labelled for training, leaders included
KARATE_VAL_PER_CLASS = 3

CORA_ORIGIN = "https://linqs-data.soe.ucsc.edu/public/lbc/"
CORA_FILE = "cora.tgz"
CORA_CLASSES = ("Case_Based", "Genetic_Algorithms", "Neural_Networks", "Probabilistic_Methods",
                "Reinforcement_Learning", "Rule_Learning", "Theory")
CORA_COUNTS = {"papers": 2708, "words": 1433, "citations": 5429}  # what the canonical file holds
CORA_SPLIT_SEED = 2000
CORA_TRAIN_PER_CLASS, CORA_VAL, CORA_TEST = 20, 500, 1000        # Kipf & Welling's sizes

MOTIF_CLASSES = ("path (no motif)", "5-cycle", "house")
MOTIF_BASE_NODES = 19             # the random tree; 5 motif nodes make 24 in all
MOTIF_NODES = 5
MOTIF_MAX_EXTRA_EDGES = 3         # random edges added to the tree: 0..3
MOTIF_DEGREE_FEATURES = 6         # node features: one-hot degree 0..4, then "5 or more"
MOTIF_SIZES = {"full": (900, 300), "smoke": (300, 150)}  # (train, test) graphs
MOTIF_TRAIN_SEED, MOTIF_TEST_SEED = 14_001, 14_002


# ------------------------------------------------------------------ containers


@dataclasses.dataclass(frozen=True)
class NodeGraph:
    """One graph whose nodes are classified.

    Attributes:
        key: the data key of threshold tables ("karate_club" or "cora").
        description: one line: which data this is.
        adjacency: float32 (n, n), 0/1, symmetric, zero diagonal.
        features: float32 (n, f), one row per node.
        labels: int64 (n,), the class of every node.
        class_names: tuple of class names, indexed by label.
        train_index, val_index, test_index: int64 arrays of node indices, disjoint.
    """

    key: str
    description: str
    adjacency: np.ndarray
    features: np.ndarray
    labels: np.ndarray
    class_names: tuple
    train_index: np.ndarray
    val_index: np.ndarray
    test_index: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.labels)

    @property
    def y_test(self) -> np.ndarray:
        """The held-out nodes' classes, int64 (n_test,)."""
        return self.labels[self.test_index]

    def summary(self) -> str:
        edges = int(self.adjacency.sum() // 2)
        return (f"Data: {self.description} -- {self.n_nodes} nodes, {edges} edges, {self.features.shape[1]} "
                f"features per node, {len(self.class_names)} classes; {len(self.train_index)} labelled for "
                f"training, {len(self.val_index)} for validation, {len(self.test_index)} held out")


@dataclasses.dataclass(frozen=True)
class GraphSet:
    """Many small graphs of the same size, each with one class.

    Attributes:
        key: the data key of threshold tables ("motif_graphs").
        description: one line: which data this is.
        adjacency_train: float32 (n_train, n, n), 0/1, symmetric, zero diagonal.
        features_train: float32 (n_train, n, f), one-hot node degrees.
        y_train: int64 (n_train,).
        adjacency_test, features_test, y_test: the held-out graphs, alike.
        class_names: tuple of class names, indexed by label.
    """

    key: str
    description: str
    adjacency_train: np.ndarray
    features_train: np.ndarray
    y_train: np.ndarray
    adjacency_test: np.ndarray
    features_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple

    def summary(self) -> str:
        n = self.adjacency_train.shape[1]
        return (f"Data: {self.description} -- {len(self.y_train)} training and {len(self.y_test)} test graphs "
                f"of {n} nodes, {self.features_train.shape[2]} features per node, classes {self.class_names}")


# ------------------------------------------------------------------ helpers


def _resolve(mode, budget) -> tuple:
    mode = mode or data_mode_from_env()
    if mode not in ("keras", "offline"):
        raise ValueError(f"data mode {mode!r} is not one of ('keras', 'offline')")
    return mode, budget or budget_from_env()


def adjacency_from_edges(n_nodes: int, edges) -> np.ndarray:
    """float32 (n_nodes, n_nodes) 0/1 symmetric adjacency of an undirected edge list."""
    adjacency = np.zeros((n_nodes, n_nodes), dtype=np.float32)
    edges = np.asarray(list(edges), dtype=np.int64).reshape(-1, 2)
    adjacency[edges[:, 0], edges[:, 1]] = 1.0
    adjacency[edges[:, 1], edges[:, 0]] = 1.0
    np.fill_diagonal(adjacency, 0.0)
    return adjacency


def _split_per_class(labels, per_class_train, per_class_val, seed, first=()):
    """Fixed train/val/test node indices: ``per_class_*`` nodes of each class (``first``
    nodes go to training before any random one), the rest held out."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for label in range(int(labels.max()) + 1):
        chosen = [node for node in first if labels[node] == label]
        others = rng.permutation([node for node in np.flatnonzero(labels == label) if node not in chosen])
        need = per_class_train - len(chosen)
        train.extend(chosen + [int(node) for node in others[:need]])
        val.extend(int(node) for node in others[need:need + per_class_val])
    taken = set(train) | set(val)
    test = [node for node in range(len(labels)) if node not in taken]
    return tuple(np.array(sorted(part), dtype=np.int64) for part in (train, val, test))


# ------------------------------------------------------------------ karate club


def load_karate_club(mode: str | None = None, budget: Budget | None = None, verbose: bool = True,
                     **fetch_options) -> NodeGraph:
    """Zachary's karate club from ``networkx`` (the same in both data modes: it ships with
    the package). Features are the identity (each member is its own one-hot feature: the
    network knows nothing but the friendships). ``budget`` changes nothing: 34 nodes."""
    mode, _ = _resolve(mode, budget)
    import networkx

    graph = networkx.karate_club_graph()
    n_nodes = graph.number_of_nodes()
    clubs = networkx.get_node_attributes(graph, "club")
    labels = np.array([KARATE_CLASSES.index(clubs[node]) for node in range(n_nodes)], dtype=np.int64)
    train, val, test = _split_per_class(labels, KARATE_TRAIN_PER_CLASS, KARATE_VAL_PER_CLASS,
                                        KARATE_SPLIT_SEED, first=KARATE_LEADERS)
    where = "OFFLINE: " if mode == "offline" else ""
    dataset = NodeGraph(
        KARATE_KEY, f"{where}Zachary's karate club (1977), shipped in networkx; classes: the faction each member joined",
        adjacency_from_edges(n_nodes, graph.edges()), np.eye(n_nodes, dtype=np.float32), labels,
        KARATE_CLASSES, train, val, test)
    if verbose:
        print(dataset.summary())
    return dataset


# ------------------------------------------------------------------ Cora (online)


def read_cora_archive(path: str) -> dict:
    """Parse LINQS's ``cora.tgz`` (``cora/cora.content``, ``cora/cora.cites``) and check it.

    ``cora.content``: one paper a line, ``<paper id> <0/1 word flags> <class>``;
    ``cora.cites``: one citation a line, ``<cited paper id> <citing paper id>``.

    Returns:
        {"features": float32 (papers, words), "labels": int64 (papers,), "edges": int64 (citations, 2)}.

    Raises:
        ValueError (or a tarfile/gzip error): the file is not a complete copy of the data set.
    """
    with tarfile.open(path, "r:gz") as archive:
        members = {os.path.basename(member.name): member for member in archive.getmembers() if member.isfile()}
        missing = sorted({"cora.content", "cora.cites"} - set(members))
        if missing:
            raise ValueError(f"the archive lacks {', '.join(missing)}")
        content = archive.extractfile(members["cora.content"]).read().decode("ascii")
        cites = archive.extractfile(members["cora.cites"]).read().decode("ascii")
    rows = [line.split() for line in content.splitlines() if line.strip()]
    words = CORA_COUNTS["words"]
    if len(rows) != CORA_COUNTS["papers"]:
        raise ValueError(f"cora.content lists {len(rows)} papers, expected {CORA_COUNTS['papers']}")
    bad = [index for index, row in enumerate(rows) if len(row) != words + 2 or row[-1] not in CORA_CLASSES]
    if bad:
        raise ValueError(f"cora.content line {bad[0] + 1} is not '<id> <{words} word flags> <class>'")
    index = {row[0]: position for position, row in enumerate(rows)}
    features = np.array([row[1:-1] for row in rows], dtype=np.float32)
    if not np.isin(features, (0.0, 1.0)).all():
        raise ValueError("cora.content holds word flags other than 0 and 1")
    labels = np.array([CORA_CLASSES.index(row[-1]) for row in rows], dtype=np.int64)
    pairs = [line.split() for line in cites.splitlines() if line.strip()]
    if len(pairs) != CORA_COUNTS["citations"]:
        raise ValueError(f"cora.cites lists {len(pairs)} citations, expected {CORA_COUNTS['citations']}")
    unknown = [pair for pair in pairs if len(pair) != 2 or pair[0] not in index or pair[1] not in index]
    if unknown:
        raise ValueError(f"cora.cites names papers that cora.content lacks: {unknown[0]}")
    edges = np.array([[index[a], index[b]] for a, b in pairs], dtype=np.int64)
    return {"features": features, "labels": labels, "edges": edges}


CORA_REMOTE = RemoteFile(CORA_FILE, read_cora_archive)


def load_cora(mode: str | None = None, budget: Budget | None = None, verbose: bool = True,
              **fetch_options) -> NodeGraph:
    """Cora through Keras's download-and-cache (``~/.keras/datasets/cora.tgz``), checked.

    Features are the bag-of-words rows divided by their sums (Kipf & Welling's
    preprocessing). The split is fixed: 20 papers of each topic for training, 500 for
    validation, 1 000 held out.

    Args:
        fetch_options: ``origin_base`` or ``cache_dir`` for ``coursekit.data.fetch_and_read``
            (``COURSE_DATA_MIRROR`` also names a mirror).

    Raises:
        DatasetError: the download failed or stayed corrupt after retries, or
            ``COURSE_DATA=offline`` (no copy of Cora ships in a package).
    """
    mode, _ = _resolve(mode, budget)
    if mode == "offline":
        raise DatasetError("Cora has to be downloaded and COURSE_DATA=offline forbids it; no PyPI package ships "
                           "it. Unset COURSE_DATA (or set it to 'keras') on a machine with internet.")
    origin = fetch_options.pop("origin_base", None) or os.environ.get(MIRROR_VARIABLE) or CORA_ORIGIN
    arrays = fetch_and_read(CORA_REMOTE, "datasets", origin_base=origin, **fetch_options)
    labels = arrays["labels"]
    n_papers = len(labels)
    adjacency = adjacency_from_edges(n_papers, arrays["edges"])
    features = arrays["features"] / np.maximum(arrays["features"].sum(axis=1, keepdims=True), 1.0)
    rng = np.random.default_rng(CORA_SPLIT_SEED)
    train = np.concatenate([rng.permutation(np.flatnonzero(labels == label))[:CORA_TRAIN_PER_CLASS]
                            for label in range(len(CORA_CLASSES))])
    rest = rng.permutation(np.setdiff1d(np.arange(n_papers), train))
    val_size = min(CORA_VAL, len(rest) // 3)
    test_size = min(CORA_TEST, len(rest) - val_size)
    dataset = NodeGraph(CORA_KEY, "Cora citation graph (McCallum et al. 2000, LINQS), via Keras's download cache",
                        adjacency, features.astype(np.float32), labels, CORA_CLASSES, np.sort(train),
                        np.sort(rest[:val_size]), np.sort(rest[val_size:val_size + test_size]))
    if verbose:
        print(dataset.summary())
    return dataset


# ------------------------------------------------------------------ generated graphs


def motif_edges(kind: str, first: int) -> list:
    """The edges of a five-node motif on nodes ``first .. first + 4``: "path" (4 edges),
    "cycle" (5) or "house" (6: the 4-cycle a-b-c-d with a roof e on c and d)."""
    a, b, c, d, e = range(first, first + MOTIF_NODES)
    shapes = {"path": [(a, b), (b, c), (c, d), (d, e)],
              "cycle": [(a, b), (b, c), (c, d), (d, e), (e, a)],
              "house": [(a, b), (b, c), (c, d), (d, a), (c, e), (d, e)]}
    if kind not in shapes:
        raise ValueError(f"unknown motif {kind!r}; choose one of {sorted(shapes)}")
    return shapes[kind]


MOTIF_KINDS = ("path", "cycle", "house")  # class k is MOTIF_KINDS[k]


def motif_graph(label: int, rng) -> np.ndarray:
    """One generated graph of class ``label``: float32 adjacency (24, 24).

    A Barabási–Albert tree on 19 nodes (``networkx.barabasi_albert_graph(19, 1)``), 0 to 3
    random extra edges, and the motif on nodes 19..23 joined to a random tree node by one
    edge. Node order is then shuffled, so the motif's position says nothing.
    """
    import networkx

    base = networkx.barabasi_albert_graph(MOTIF_BASE_NODES, 1, seed=int(rng.integers(2**31)))
    edges = list(base.edges())
    present = {tuple(sorted(edge)) for edge in edges}
    for _ in range(int(rng.integers(0, MOTIF_MAX_EXTRA_EDGES + 1))):
        while True:
            u, v = (int(node) for node in rng.choice(MOTIF_BASE_NODES, 2, replace=False))
            if (min(u, v), max(u, v)) not in present:
                present.add((min(u, v), max(u, v)))
                edges.append((u, v))
                break
    edges += motif_edges(MOTIF_KINDS[label], MOTIF_BASE_NODES)
    edges.append((int(rng.integers(MOTIF_BASE_NODES)), MOTIF_BASE_NODES + int(rng.integers(MOTIF_NODES))))
    adjacency = adjacency_from_edges(MOTIF_BASE_NODES + MOTIF_NODES, edges)
    order = rng.permutation(len(adjacency))
    return adjacency[np.ix_(order, order)]


def degree_features(adjacency) -> np.ndarray:
    """float32 (..., n, 6): each node's degree one-hot, degrees of 5 or more together."""
    degree = np.minimum(np.asarray(adjacency).sum(axis=-1).astype(np.int64), MOTIF_DEGREE_FEATURES - 1)
    return np.eye(MOTIF_DEGREE_FEATURES, dtype=np.float32)[degree]


def motif_graphs(n_graphs: int, seed: int) -> tuple:
    """``n_graphs`` generated graphs, classes balanced and shuffled.

    Returns:
        (adjacency float32 (n_graphs, 24, 24), features float32 (n_graphs, 24, 6), labels int64 (n_graphs,)).
    """
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n_graphs) % len(MOTIF_KINDS)).astype(np.int64)
    adjacency = np.stack([motif_graph(int(label), rng) for label in labels])
    return adjacency, degree_features(adjacency), labels


def load_motif_graphs(mode: str | None = None, budget: Budget | None = None, verbose: bool = True,
                      **fetch_options) -> GraphSet:
    """The generated motif graphs (the same in both data modes; the budget sets how many)."""
    mode, budget = _resolve(mode, budget)
    n_train, n_test = MOTIF_SIZES["smoke" if budget.name == "smoke" else "full"]
    train = motif_graphs(n_train, MOTIF_TRAIN_SEED)
    test = motif_graphs(n_test, MOTIF_TEST_SEED)
    description = ("OFFLINE: " if mode == "offline" else "") + (
        "graphs generated with networkx from fixed seeds: a random tree with a planted path, 5-cycle or house")
    if budget.name == "smoke":
        description += "; smoke budget subset"
    dataset = GraphSet(MOTIF_KEY, description, *train, *test, MOTIF_CLASSES)
    if verbose:
        print(dataset.summary())
    return dataset


DATA_SETS = {
    "karate_club": DataSet(load=load_karate_club, keys={"keras": KARATE_KEY, "offline": KARATE_KEY}),
    "motif_graphs": DataSet(load=load_motif_graphs, keys={"keras": MOTIF_KEY, "offline": MOTIF_KEY}),
}
