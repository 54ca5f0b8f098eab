"""Hidden checks, one module per lab, called from nbgrader's hidden-test regions.

A hidden-test cell holds only a call such as ``hidden.check_softmax(softmax)``;
the reference it compares against stays here, on the instructor's side.
"""
