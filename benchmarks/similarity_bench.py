"""Time the class similarity report on 40 and on 500 lab-02 submissions.

    python benchmarks/similarity_bench.py

The submissions are the reference answers with every local name changed per student (as
if each had written them independently with the same ideas), a tenth of them copied from
another student with names changed again, and a tenth left untouched. Prints the time per
class size, the pairs compared per second, and the ratio between the two sizes.
"""

import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.batch.corpus import honest, released_name, solution_sources, with_answers  # noqa: E402
from autograder.grade import REPO  # noqa: E402
from autograder.similarity import similarity_report  # noqa: E402

LAB = "02-fashion-mnist-cnn"
NAMES = ["pixels", "matrix", "true_positive", "predicted", "actual", "denominator", "per_class", "pairs", "inputs"]


def renamed(sources: dict, rng: random.Random) -> dict:
    changed = {}
    for cell, source in sources.items():
        for name in NAMES:
            source = source.replace(name, f"{name[:3]}_{rng.randrange(10 ** 6)}")
        changed[cell] = source
    return changed


def make_class(folder: Path, size: int) -> None:
    rng = random.Random(size)
    sources = solution_sources(LAB)
    written = []
    for index in range(size):
        if index % 10 == 9:
            notebook = with_answers(LAB, {})
        elif index % 10 == 8 and written:
            notebook = honest(LAB, **renamed(rng.choice(written), rng))
        else:
            answers = renamed(sources, rng)
            written.append(answers)
            notebook = honest(LAB, **answers)
        target = folder / "submitted" / f"student-{index:04d}" / LAB
        target.mkdir(parents=True)
        (target / released_name(LAB)).write_text(json.dumps(notebook))


def main() -> None:
    release = REPO / "labs" / LAB / released_name(LAB)
    seconds = {}
    for size in (40, 500):
        with tempfile.TemporaryDirectory() as scratch:
            course = Path(scratch)
            make_class(course, size)
            started = time.perf_counter()
            summary = similarity_report(course, LAB, release, course / "report.html")
            seconds[size] = time.perf_counter() - started
            pairs = size * (size - 1) // 2
            print(f"{size:>4} submissions: {seconds[size]:6.2f} s ({pairs} pairs, {pairs / seconds[size]:,.0f} pairs/s), "
                  f"{summary['pairs_listed']} pairs listed")
    print(f"500 vs 40 submissions: {seconds[500] / seconds[40]:.1f}x the time for {500 * 499 / (40 * 39):.0f}x the pairs")


if __name__ == "__main__":
    main()
