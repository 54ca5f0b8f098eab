"""Lab 14 answers for tests/test_graders_agree.py: two typical mistakes and one tamper attempt.

WRONG replaces answer cells (by grade_id) of an otherwise complete submission; LOSES names
the graded cells that must then fail, in both graders. TAMPER is a complete submission that
also sabotages training and patches the notebook's own score and check: the graders must not care.
"""

WRONG = {
    # propagate returns the states after each step but forgets the starting state H itself
    "cell-09": lambda source: source.replace("    return np.stack(states)\n", "    return np.stack(states[1:])\n"),
    # get_config forgets use_bias: from_config rebuilds a layer with a bias it never had, and the
    # models built of the layer no longer describe themselves as the reference's (their visible
    # checks say so too); the trained models still work
    "cell-12": lambda source: source.replace(', "use_bias": self.use_bias}', "}"),
}
LOSES = {"propagate", "graph_conv", "node_model", "graph_model"}

TAMPER = {
    # model.fit does nothing (the graph classifier stays untrained), and the notebook's F1 and
    # the visible threshold check are replaced by ones that always pass
    "cell-25": lambda source: source + (
        "\n\nkeras.Model.fit = lambda self, *args, **kwargs: type('History', (), {'history': {'loss': [1.0]}})()\n"
        "f1_score = lambda *args, **kwargs: 1.0\n"
        "check_grader_threshold = lambda *args, **kwargs: None\n"),
}
TAMPER_LOSES = {"graph_f1"}
