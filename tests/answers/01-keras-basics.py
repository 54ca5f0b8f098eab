"""Lab 01 answers for tests/test_graders_agree.py: two typical mistakes and one tamper attempt.

WRONG replaces answer cells (by grade_id) of an otherwise complete submission; LOSES names
the graded cells that must then fail, in both graders. TAMPER is a complete submission
that also fakes training and patches the checks inside the notebook: the batch grader must not care.
"""

WRONG = {
    # ReLU's derivative taken as 1 at s = 0
    "cell-06": lambda source: source.replace("return (s > 0).astype(float)", "return (s >= 0).astype(float)"),
    # the last, smaller batch forgotten: floor instead of ceiling
    "cell-15": lambda source: source.replace("return -(-n_samples // batch_size)", "return n_samples // batch_size"),
}
LOSES = {"activations", "updates"}

TAMPER = {
    # training faked (the model stays untrained), evaluate and the visible checks patched to
    # pass, scikit-learn's accuracy patched, and a wrong neuron defined after its test ran
    "cell-24": lambda source: source + (
        "\n\nimport coursekit.checks, sklearn.metrics\n"
        "keras.Model.fit = lambda self, *args, **kwargs: {'loss': [0.01], 'accuracy': [0.99]}\n"
        "keras.Model.evaluate = lambda self, *args, **kwargs: [0.01, 0.99]\n"
        "sklearn.metrics.accuracy_score = lambda *args, **kwargs: 1.0\n"
        "coursekit.checks.check_at_least = check_at_least = lambda *args, **kwargs: None\n"
        "coursekit.checks.check_array = check_array = lambda *args, **kwargs: None\n"
        "def neuron(x, w, b):\n"
        "    return x @ w\n"),
}
TAMPER_LOSES = {"neuron", "accuracy"}
