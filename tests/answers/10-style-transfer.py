"""Lab 10 answers for tests/test_graders_agree.py: two typical mistakes and one tamper attempt.

WRONG replaces answer cells of an otherwise complete submission; LOSES names the graded cells
that must then fail, in both graders. TAMPER is a complete submission whose generator is never
trained, with the visible threshold check and the gain helper patched inside the notebook.
"""

WRONG = {
    # total variation that ignores beta (always squared differences)
    "cell-11": lambda source: source.replace("** (beta / 2)", "** (2.0 / 2)"),
    # losses recorded after each step instead of before it
    "cell-15": lambda source: source.replace("losses = [float(step()) for _ in range(steps)]",
                                             "losses = [(step(), float(loss_fn(image)))[1] for _ in range(steps)]"),
}
LOSES = {"total_variation", "optimise"}

TAMPER = {
    # train_generator does nothing; the notebook's own threshold check and gain are patched to pass
    "cell-30": lambda source: source + (
        "\n\ndef train_generator(generator, extractor, target_grams, steps, batch_size=4, learning_rate=0.01, seed=0):\n"
        "    return [1.0] * steps\n\n\n"
        "check_grader_threshold = lambda *args, **kwargs: None\n"
        "import coursekit.style, coursekit.checks\n"
        "coursekit.style.gain = lambda before, after: 99.0\n"
        "coursekit.checks.check_grader_threshold = check_grader_threshold\n"),
}
TAMPER_LOSES = {"generator_gain"}
