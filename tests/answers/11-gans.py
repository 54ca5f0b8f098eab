"""Lab 11 answers for tests/test_graders_agree.py: two typical mistakes and one tamper attempt.

WRONG replaces answer cells of an otherwise complete submission; LOSES names the graded
cells that must then fail, in both graders. TAMPER is a complete submission that, after
training, swaps in untrained generators and patches the visible threshold check: the
batch grader judges what the notebook holds at the end, so it must lose the three
generator scores.
"""

WRONG = {
    # the pull-away term averaged over all N² pairs instead of the N(N-1) pairs i != j
    "cell-27": lambda source: source.replace("/ (n * (n - 1))", "/ (n * n)"),
    # the pyramid rebuilt from the finest level up instead of from G_K down
    "cell-38": lambda source: source.replace("for laplacian in reversed(pyramid[:-1]):",
                                             "for laplacian in pyramid[:-1]:"),
}
LOSES = {"pull_away", "reconstruct"}

TAMPER = {
    # the last answer cell runs after every training cell: untrained generators, checks patched
    "cell-38": lambda source: source + (
        "\ngenerator = build_generator()\n"
        "mmd_generator = keras.models.clone_model(mmd_generator)\n"
        "import coursekit.checks, coursekit.gan\n"
        "coursekit.checks.check_grader_threshold = lambda *args, **kwargs: None\n"
        "coursekit.gan.sample_scores = lambda *args, **kwargs: {'confidence': 1.0, 'class_entropy': 1.0}\n"),
}
TAMPER_LOSES = {"digit_confidence", "class_diversity", "mmd_generator"}
