"""Lab 12 answers for tests/test_graders_agree.py: two typical mistakes and one tamper attempt.

WRONG replaces answer cells (by grade_id) of an otherwise complete submission; LOSES names
the graded cells that must then fail, in both graders. Both mistakes leave the training runs
untouched (the lab trains with gamma = 10), so only their own cells lose. TAMPER is a
complete submission that swaps in an untrained DANN classifier and patches the metric and
the checks inside the notebook: the batch grader must not care.
"""

WRONG = {
    # gamma ignored: the schedule is always the gamma = 10 one
    "cell-04": lambda source: source.replace("math.exp(-gamma * float(progress))", "math.exp(-10.0 * float(progress))"),
    # PCA fitted on the source features alone, then applied to both domains
    "cell-28": lambda source: source.replace(
        "points = PCA(n_components=2).fit_transform(features)",
        "points = PCA(n_components=2).fit(np.asarray(features_source, dtype=np.float64)).transform(features)"),
}
LOSES = {"schedule", "embedding"}

TAMPER = {
    # an untrained DANN classifier, with scikit-learn's F1 and the visible checks patched to pass
    "cell-28": lambda source: source + (
        "\ndann_classifier = keras.models.clone_model(dann_classifier)\n"
        "import sklearn.metrics, coursekit.checks\n"
        "sklearn.metrics.f1_score = lambda *args, **kwargs: 1.0\n"
        "coursekit.checks.check_grader_threshold = lambda *args, **kwargs: None\n"),
}
TAMPER_LOSES = {"target_f1", "gain"}
