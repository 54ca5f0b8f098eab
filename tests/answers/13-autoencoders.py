"""Lab 13 answers for tests/test_graders_agree.py: two typical mistakes and one tamper attempt.

WRONG replaces answer cells (by grade_id) of an otherwise complete submission; LOSES names
the graded cells that must then fail, in both graders. TAMPER is a complete submission that
swaps in an untrained autoencoder after every visible check has passed and patches the checks:
the batch grader must not care.
"""

WRONG = {
    # the mean over pixels instead of the sum of squares ||x_hat - x||^2
    "cell-03": lambda source: source.replace(".reshape(len(difference), -1).sum(axis=1)",
                                             ".reshape(len(difference), -1).mean(axis=1)"),
    # FGSM steps down the gradient: it makes the true label more likely
    "cell-22": lambda source: source.replace("x + epsilon * tf.sign(gradient)", "x - epsilon * tf.sign(gradient)"),
}
LOSES = {"reconstruction_error", "fgsm", "attack_success"}

TAMPER = {
    # untrained encoder and decoder (fresh weights), with the threshold checks patched to pass
    "cell-32": lambda source: source + (
        "\nencoder = keras.models.clone_model(encoder)\n"
        "decoder = keras.models.clone_model(decoder)\n"
        "import coursekit.checks\n"
        "coursekit.checks.check_grader_threshold = lambda *args, **kwargs: None\n"
        "check_grader_threshold = coursekit.checks.check_grader_threshold\n"),
}
TAMPER_LOSES = {"reconstruction", "attribute_shift"}
