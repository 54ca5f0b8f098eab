"""Lab 06 answers for tests/test_graders_agree.py: two typical mistakes and one tamper attempt.

WRONG replaces answer cells (by grade_id) of an otherwise complete submission; LOSES names
the graded cells that must then fail, in both graders. TAMPER is a complete submission
that also breaks a graded answer and monkeypatches the checks inside the notebook to hide
it: the batch grader must not care.
"""

WRONG = {
    # original (scale_at="test") dropout forgets to scale by 1 - p at inference
    "cell-03": lambda source: source.replace("            return inputs * keep\n", "            return inputs\n"),
    # "a mirrored shirt is a different garment": the last transform answered False
    "cell-18": lambda source: source.replace('"horizontal flip of a Fashion-MNIST image": True,',
                                             '"horizontal flip of a Fashion-MNIST image": False,'),
}
LOSES = {"dropout_original", "class_preserving"}

TAMPER = {
    # an untrained plain network (its gap is about 0, so the reduction is negative), with the
    # visible check, scikit-learn's accuracy and the notebook's own number patched to pass
    "cell-40": lambda source: source + (
        "\nplain_model = keras.models.clone_model(plain_model)\n"
        "import coursekit.checks, sklearn.metrics\n"
        "coursekit.checks.check_at_least = lambda *args, **kwargs: None\n"
        "sklearn.metrics.accuracy_score = lambda *args, **kwargs: 1.0\n"
        "gap_reduction = 1.0\n"),
}
TAMPER_LOSES = {"gap_reduction"}
