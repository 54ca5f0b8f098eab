"""Lab 03 answers for tests/test_graders_agree.py: two typical mistakes and one tamper attempt.

WRONG replaces answer cells (by grade_id) of an otherwise complete submission; LOSES names
the graded cells that must then fail, in both graders. TAMPER is a complete submission
that, after its visible checks have passed, swaps in an untrained Inception model and a
wrong global max-pooling, and monkeypatches scikit-learn's F1 and the lab's checks inside
the notebook to hide it: the batch grader must not care.
"""

WRONG = {
    # a convolution's flipped kernel stamped in place of the kernel (convolution vs correlation)
    "cell-12": lambda source: source.replace("+= image[row, column] * kernel",
                                             "+= image[row, column] * kernel[::-1, ::-1]"),
    # the unbiased (m - 1) batch variance in training mode, where batch normalisation uses 1/m
    "cell-32": lambda source: source.replace("x.var(axis=axes)", "x.var(axis=axes, ddof=1)"),
}
LOSES = {"transposed", "batch_norm"}

TAMPER = {
    # an untrained Inception model and a wrong function defined late, with scikit-learn's F1,
    # NumPy's comparisons and the visible checks patched to pass
    "push_network_answer": lambda source: source + (
        "\ninception_model = keras.models.clone_model(inception_model)\n"
        "def global_max_pooling(features):\n"
        "    return np.asarray(features).mean(axis=(1, 2))\n"
        "import sklearn.metrics, coursekit.checks\n"
        "sklearn.metrics.f1_score = lambda *args, **kwargs: 1.0\n"
        "np.allclose = np.array_equal = lambda *args, **kwargs: True\n"
        "coursekit.checks.check_at_least = lambda *args, **kwargs: None\n"
        "coursekit.checks.check_array = lambda *args, **kwargs: None\n"),
}
TAMPER_LOSES = {"inception_f1", "global_pooling"}
