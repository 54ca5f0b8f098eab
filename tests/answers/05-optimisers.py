"""Lab 05 answers for tests/test_graders_agree.py: two typical mistakes and one tamper attempt.

WRONG replaces answer cells (by grade_id) of an otherwise complete submission; LOSES names
the graded cells that must then fail, in both graders. TAMPER is a complete submission
that skips training, patches the visible checks to hide it and redefines an answer wrongly
after its check has run: the batch grader must not care.
"""

WRONG = {
    # Adagrad with Duchi et al.'s delta outside the square root (Keras puts epsilon inside)
    "cell-26": lambda source: source.replace("np.sqrt(self.accumulator + self.epsilon)",
                                             "(np.sqrt(self.accumulator) + self.epsilon)"),
    # escape_step compares y, not |y|, with the threshold
    "cell-48": lambda source: source.replace("np.abs(np.asarray(path)[:, 1])", "np.asarray(path)[:, 1]"),
}
LOSES = {"adagrad", "saddle"}

TAMPER = {
    # model.fit does nothing (untrained models, a made-up history), the visible accuracy check
    # always passes, and escape_step is replaced by a wrong one once its check has run
    "cell-52": lambda source: source + (
        "\n\nclass _MadeUpHistory:\n"
        "    def __init__(self, epochs):\n"
        "        self.history = {key: [0.01] * epochs for key in ('loss', 'val_loss', 'accuracy', 'val_accuracy')}\n"
        "\n\n"
        "keras.Model.fit = lambda self, *args, **kwargs: _MadeUpHistory(kwargs.get('epochs', 1))\n"
        "import coursekit.checks\n"
        "coursekit.checks.check_at_least = check_at_least = lambda *args, **kwargs: print('OK')\n"
        "\n\n"
        "def escape_step(path, threshold=1.0):\n"
        "    return 0\n"),
}
TAMPER_LOSES = {"saddle", "training"}
