"""How fast the offline answer is once warm, and how fast `cnaps --help` starts.

Budgets (issue 2): the warm offline answer under 100 ms, `cnaps --help` under 1 s. Prints the medians, the CPU
load while measuring (timings on a busy machine are not comparable), and exits 1 with --strict when over budget.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

ANSWER_BUDGET_MS = 100.0
HELP_BUDGET_S = 1.0


def time_help(runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds of `cnaps --help` in fresh processes (CPU time barely depends on load)."""
    command = [sys.executable, "-c", "from agent.cli import main; main()", "--help"]
    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall, cpu


def time_answers(ranker_name: str, runs: int) -> tuple[float, list[float], list[float]]:
    """First answer's seconds (with loading), then each warm answer's wall and CPU milliseconds, with one ranker."""
    from agent.composer import compose_offline
    from agent.ranking import make_ranker
    from knowledge.parser import default_bundle

    bundle = default_bundle()
    start = time.perf_counter()
    ranker = make_ranker(ranker_name)
    answer = compose_offline(bundle, ranker=ranker)
    cold = time.perf_counter() - start
    assert answer.grounded, answer.violations
    warm, cpu = [], []
    for index in range(runs):
        # A new question each time, so the embedding of the question is never served from the cache.
        asked = bundle.model_copy(update={"question": f"{bundle.question} ({index})"})
        start, start_cpu = time.perf_counter(), time.process_time()
        compose_offline(asked, ranker=ranker)
        warm.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return cold, warm, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="warm answers per ranker")
    parser.add_argument("--help-runs", type=int, default=5, help="fresh `cnaps --help` processes")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a budget is exceeded")
    options = parser.parse_args()

    from agent.ranking import embedding_available, multilingual_available

    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    over = False
    help_times, help_cpu = time_help(options.help_runs)
    help_median = statistics.median(help_times)
    over |= help_median > HELP_BUDGET_S
    print(f"cnaps --help: median {help_median:.3f} s, best {min(help_times):.3f} s, "
          f"CPU median {statistics.median(help_cpu):.3f} s (budget {HELP_BUDGET_S:.0f} s)")
    rankers = ["lexical", *(["multilingual"] if multilingual_available() else []),
               *(["embedding"] if embedding_available() else [])]
    for ranker_name in rankers:
        cold, warm, cpu = time_answers(ranker_name, options.runs)
        median = statistics.median(warm)
        p95 = sorted(warm)[int(0.95 * (len(warm) - 1))]
        over |= median > ANSWER_BUDGET_MS
        print(f"offline answer, {ranker_name} ranker: first {cold:.2f} s (loading), warm median {median:.1f} ms, "
              f"p95 {p95:.1f} ms, best {min(warm):.1f} ms, CPU median {statistics.median(cpu):.1f} ms "
              f"(budget {ANSWER_BUDGET_MS:.0f} ms)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 1 if over and options.strict else 0


if __name__ == "__main__":
    sys.exit(main())
