"""nbgrader configuration for the course.

Layout: `solutions/<lab>/` holds the nbgrader *source* notebooks (reference
solutions with hidden tests), `labs/<lab>/` the generated *release* (student)
notebooks, `submitted/<student>/<lab>/` the collected submissions.
"""

import os
import sys

c = get_config()  # noqa: F821 -- provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "dl-course"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "labs"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
# The .py files in solutions/ are the reviewable text form of the notebooks;
# they hold the solutions, so they must never be copied into labs/.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.py", "thresholds.json"]
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
# Training cells take minutes at the full budget; a per-cell limit still stops endless loops.
c.Execute.timeout = 900

# nbgrader runs `alembic` (its gradebook migrations) as a command. When Jupyter was started
# as .venv/bin/jupyter without activating the venv, that command is not on PATH and the
# formgrader never loads: put this interpreter's scripts folder first.
_scripts = os.path.dirname(sys.executable)
if _scripts not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.pathsep.join([_scripts, os.environ.get("PATH", "")])

# The assignment-list panel looks for an exchange folder; this course hands labs out
# through the repository (labs/), so the exchange is a local, empty folder.
c.Exchange.root = os.path.join(c.CourseDirectory.root, "exchange")
os.makedirs(c.Exchange.root, exist_ok=True)
