"""How fast the embedded local model answers: server start-up, then end-to-end `--backend local` answers.

Run: python benchmarks/local_answer_speed.py [--bundle FILE] [--image IMG] [--repeat N] [--threads T]
Prints one JSON object: start-up seconds, seconds per answer (first and median), tokens generated per second
measured on one raw completion, whether each answer was grounded and which parts the offline composer replaced.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.backends.base import AnswerRequest  # noqa: E402
from agent.backends.local import LocalBackend  # noqa: E402
from agent.llm.local_server import SERVED_MODEL_ALIAS, LocalModelServer  # noqa: E402
from knowledge.parser import default_bundle, load_bundle  # noqa: E402


def generation_speed(server: LocalModelServer, tokens: int = 128) -> float:
    """Tokens per second of one unconstrained completion of ``tokens`` tokens."""
    from openai import OpenAI

    client = OpenAI(base_url=server.base_url, api_key="not-needed")
    started = time.perf_counter()
    reply = client.chat.completions.create(
        model=SERVED_MODEL_ALIAS,
        messages=[{"role": "user", "content": "Describe how a camera lens focuses light."}],
        max_tokens=tokens,
        temperature=0,
    )
    return reply.usage.completion_tokens / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, help="question bundle (default: the seed)")
    parser.add_argument("--image", type=Path, help="also restore this image in every answer")
    parser.add_argument("--out", type=Path, default=Path("benchmark-output"), help="where restored images go")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    bundle = load_bundle(args.bundle) if args.bundle else default_bundle()
    server = LocalModelServer(threads=args.threads)
    with server, LocalBackend(server=server) as backend:
        speed = generation_speed(server)
        timings, verdicts = [], []
        for _ in range(args.repeat):
            started = time.perf_counter()
            answer = backend.answer(AnswerRequest(bundle=bundle, image=args.image, out_dir=args.out))
            timings.append(time.perf_counter() - started)
            verdicts.append({"grounded": answer.grounded, "replaced_parts": answer.replaced_parts,
                             "restored": answer.restoration is not None})
    print(json.dumps({
        "model": server.model_path.name,
        "threads": args.threads,
        "server_start_s": round(server.startup_seconds or 0.0, 2),
        "generation_tokens_per_s": round(speed, 1),
        "answer_s_first": round(timings[0], 2),
        "answer_s_median": round(statistics.median(timings), 2),
        "answers": verdicts,
    }, indent=2))


if __name__ == "__main__":
    main()
