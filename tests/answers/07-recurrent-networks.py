"""Lab 07 answers for tests/test_graders_agree.py: two typical mistakes and one tamper attempt.

WRONG replaces answer cells (by cell id) of an otherwise complete submission; LOSES names
the graded cells that must then fail, in both graders. TAMPER is a complete submission
that turns training off and patches the threshold checks inside the notebook to hide it:
the batch grader scores the untrained models itself.
"""

WRONG = {
    # the lecture's (Cho et al.'s) GRU update instead of Keras's: z weights the candidate
    "cell-09": lambda source: source.replace("        h = z * h + (1 - z) * candidate\n",
                                             "        h = (1 - z) * h + z * candidate\n"),
    # gradient norms left in time order instead of distance order
    "cell-15": lambda source: source.replace(".mean(axis=0)[::-1]", ".mean(axis=0)"),
}
LOSES = {"gru", "bptt"}

TAMPER = {
    # every fit() does nothing, so both models stay untrained; the visible threshold checks
    # and scikit-learn's F1 are patched to pass
    "cell-24": lambda source: source + (
        "\nimport coursekit.checks, sklearn.metrics\n"
        "keras.Model.fit = lambda self, *args, **kwargs: keras.callbacks.History()\n"
        "coursekit.checks.check_grader_threshold = lambda *args, **kwargs: None\n"
        "check_grader_threshold = lambda *args, **kwargs: None\n"
        "sklearn.metrics.f1_score = lambda *args, **kwargs: 1.0\n"
        "f1_score = lambda *args, **kwargs: 1.0\n"),
}
TAMPER_LOSES = {"text_f1", "forecast_skill"}
