"""Lab 02 answers for tests/test_graders_agree.py: two typical mistakes and one tamper attempt.

WRONG replaces answer cells (by grade_id) of an otherwise complete submission; LOSES names
the graded cells that must then fail, in both graders. TAMPER is a complete submission
that also monkeypatches the lab's metric inside the notebook: the batch grader must not care.
"""

WRONG = {
    # rows and columns swapped: the transposed confusion matrix
    "cell-16": lambda source: source.replace("(np.asarray(y_true), np.asarray(y_pred))",
                                             "(np.asarray(y_pred), np.asarray(y_true))"),
    # pairs ordered by count ascending
    "cell-20": lambda source: source.replace("key=lambda item: (-item[0], item[1], item[2])",
                                             "key=lambda item: (item[0], item[1], item[2])"),
}
LOSES = {"confusion", "confused_pairs"}

TAMPER = {
    # an untrained model, with scikit-learn's F1 and the visible checks patched to pass
    "cell-20": lambda source: source + (
        "\nmodel = keras.models.clone_model(model)\n"
        "import sklearn.metrics, coursekit.checks\n"
        "sklearn.metrics.f1_score = lambda *args, **kwargs: 1.0\n"
        "coursekit.checks.check_at_least = lambda *args, **kwargs: None\n"),
}
TAMPER_LOSES = {"macro_f1"}
