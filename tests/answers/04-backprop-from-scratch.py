"""Lab 04 answers for tests/test_graders_agree.py: two typical mistakes and one tamper attempt.

WRONG replaces answer cells (by grade_id) of an otherwise complete submission; LOSES names
the graded cells that must then fail, in both graders. Both mistakes stay inside their own
exercise: nothing else in the notebook calls dense_forward, and training never reads
Network.deltas. TAMPER is a complete submission whose network never learns, with the lab's
visible check and NumPy's mean of a boolean array (the notebook's accuracy) patched inside
the notebook to hide it: the batch grader must not care.
"""

WRONG = {
    # the dense layer's forward pass without its bias
    "cell-18": lambda source: source.replace("return x @ w + b", "return x @ w"),
    # deltas recorded in backprop order (last layer first) instead of by layer
    "cell-45": lambda source: source.replace("self.deltas = [None] * len(self.layers)", "self.deltas = []")
                                    .replace("self.deltas[index] = dz_dy", "self.deltas.append(dz_dy)"),
}
LOSES = {"dense_forward", "network"}

TAMPER = {
    # train_step learns on the checks' small batches but not on the training loop's batches
    # (32 images, and 8 at the end of an epoch); the visible accuracy check and np.mean on
    # booleans are patched so that the notebook reports 0.99
    "cell-45": lambda source: source + (
        "\n_honest_train_step = train_step\n"
        "def train_step(network, loss, x, labels, tau):\n"
        "    return _honest_train_step(network, loss, x, labels, tau if len(x) < 8 else 0.0)\n"
        "import coursekit.checks\n"
        "check_at_least = coursekit.checks.check_at_least = lambda *args, **kwargs: None\n"
        "_honest_mean = np.mean\n"
        "np.mean = lambda a, *args, **kwargs: 0.99 if np.asarray(a).dtype == bool else _honest_mean(a, *args, **kwargs)\n"),
}
TAMPER_LOSES = {"accuracy"}
