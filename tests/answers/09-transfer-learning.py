"""Lab 09 answers for tests/test_graders_agree.py: two typical mistakes and one tamper attempt.

WRONG replaces answer cells (by grade_id) of an otherwise complete submission; LOSES names
the graded cells that must then fail, in both graders. TAMPER is a complete submission that
swaps in an untrained base network and patches the checks inside the notebook to hide it:
the batch grader must not care.
"""

WRONG = {
    # few_shot_indices ignores its seed: another draw on every call
    "cell-04": lambda source: source.replace("np.random.default_rng(seed)", "np.random.default_rng()"),
    # build_classifier never freezes the extractor: "transfer" then retrains alpha on m images
    "cell-07": lambda source: source.replace("extractor.trainable = not freeze", "extractor.trainable = True"),
}
LOSES = {"tasks", "networks", "transfer_wins"}

TAMPER = {
    # an untrained base network, with scikit-learn's F1 and the visible check patched to pass
    "cell-13": lambda source: source + (
        "\nbase_model = keras.models.clone_model(base_model)\n"
        "import sklearn.metrics, coursekit.checks\n"
        "sklearn.metrics.f1_score = lambda *args, **kwargs: 1.0\n"
        "f1_score = sklearn.metrics.f1_score\n"
        "coursekit.checks.check_grader_threshold = lambda *args, **kwargs: None\n"
        "check_grader_threshold = coursekit.checks.check_grader_threshold\n"),
}
TAMPER_LOSES = {"base_task", "transfer_wins"}  # transfer_wins: its extractor is no longer the base network's
