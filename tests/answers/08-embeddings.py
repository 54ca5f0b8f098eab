"""Lab 08 answers for tests/test_graders_agree.py: two typical mistakes and one tamper attempt.

WRONG replaces answer cells (by grade_id) of an otherwise complete submission; LOSES names
the graded cells that must then fail, in both graders. Both mistakes are in functions the
training does not use, so nothing else moves. TAMPER is a complete submission that swaps an
untrained model's embeddings in and patches the score and the visible check inside the notebook.
"""

WRONG = {
    # the noise words' sign flipped: ln sigma(<x_v, x_u>) instead of ln sigma(-<x_v, x_u>)
    "cell-09": lambda source: source.replace("np.logaddexp(0.0, negative)", "np.logaddexp(0.0, -negative)"),
    # the question words a, b, c not left out: the answer is usually b itself
    "cell-22": lambda source: source.replace("    similarity[[index[a], index[b], index[c]]] = -np.inf\n", ""),
}
LOSES = {"sgns_loss", "analogy"}

TAMPER = {
    # an untrained SGNS model's embeddings, with the score and the visible check patched to pass
    "cell-30": lambda source: source + (
        "\nembeddings = build_sgns_model(len(vocabulary), DIM, NEGATIVES).get_layer('target').get_weights()[0]\n"
        "import coursekit.embeddings, coursekit.checks\n"
        "coursekit.embeddings.wordsim_spearman = lambda *args, **kwargs: (1.0, 353)\n"
        "coursekit.checks.check_grader_threshold = lambda *args, **kwargs: None\n"),
}
TAMPER_LOSES = {"similarity"}
