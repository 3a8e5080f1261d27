"""`cnaps ask` and `cnaps batch`: grounded answers to CNAPS-style questions from the command line."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.app import app
from agent.cli.engine_options import ADDRESS, ENGINE, WORKERS
from agent.cli.options import BF16, DEVICE, JSON, KEEP_OUTPUT, TILE, WEIGHTS_HELP, Device, bf16_choice, outcome_line

FORMATS = ("md", "json")
BUNDLE_SUFFIXES = (".txt", ".yaml", ".yml", ".json", ".jsonl", ".ndjson")
ANSWER_FILES = ("answer.md", "answer.json")
#: A QUESTION argument ending in one of these is a file name, whether or not the file exists.
PATH_SUFFIXES = (*BUNDLE_SUFFIXES, ".md")

BACKEND_HELP = "offline, openai or local (default: $CNAPS_BACKEND, else offline)."
FALLBACK_HELP = "Backend to answer with when the chosen one fails: offline (default: none, fail instead)."


@app.command()
def ask(
    question: str | None = typer.Argument(None, help="The question; replaces the bundle's own when both are given."),
    bundle: Path | None = typer.Option(None, "--bundle", help="CNAPS question document (.txt, .yaml or .json); "
                                                               "default: the seed's four sources."),
    image: Path | None = typer.Option(None, "--image", help="Your image; restored when the recommended model is a "
                                                             "MIMO-UNet deblurring model."),
    output_format: str = typer.Option("md", "--format", help="md (Markdown) or json."),
    out: Path | None = typer.Option(None, "--out", help="Folder for answer.md, answer.json and the restored "
                                                         "<stem>_restored image (default with --image: "
                                                         "./cnaps-output)."),
    backend: str = typer.Option("", "--backend", help=BACKEND_HELP),
    fallback: str | None = typer.Option(None, "--fallback", help=FALLBACK_HELP),
    weights: str | None = typer.Option(None, "--weights", "--preset", help=WEIGHTS_HELP + " Overrides the one "
                                                                                         "mapped from the bundle."),
    tile: int | None = TILE,
    device: Device = DEVICE,
    bf16: bool = BF16,
    keep_output: bool = KEEP_OUTPUT,
) -> None:
    """Answer one question from its supplied sources only, and restore the image when one is given."""
    from agent.backends.base import AnswerRequest
    from agent.restoration_step import DEFAULT_OUTPUT_DIR

    if output_format not in FORMATS:
        raise typer.BadParameter(f"choose one of {', '.join(FORMATS)}", param_hint="--format")
    if image is not None and not image.is_file():
        raise typer.BadParameter(f"{image}: no such image file", param_hint="--image")
    if out is None and image is not None:
        out = DEFAULT_OUTPUT_DIR  # the restored image goes where the user can find it, never a temporary folder
    if out is not None:
        refuse_answers_on_inputs(out, [path for path in (bundle, image) if path is not None])
    question_bundle = _bundle_for(question, bundle)
    engine = _backend(backend, fallback)
    request = AnswerRequest(bundle=question_bundle, image=image, out_dir=out, preset=weights, tile=tile,
                            device=device.value, bf16=bf16_choice(bf16), keep_output=keep_output)
    answer = _answer_with_progress(engine, request)
    rendered = _render(answer, output_format)
    typer.echo(rendered, nl=not rendered.endswith("\n"))
    if out is not None:
        written = write_answer(answer, out)
        if answer.restoration is not None:
            written.append(Path(answer.restoration.output_path))
            typer.echo(f"restoration {outcome_line(answer.restoration)}", err=True)
            if answer.restoration.advice:
                typer.echo(answer.restoration.advice, err=True)
        typer.echo("wrote " + ", ".join(str(path) for path in written), err=True)  # the last line: where it went


@app.command()
def batch(
    paths: list[Path] = typer.Argument(..., help="Bundle files or folders of them (.txt, .yaml, .yml, .json; "
                                                  ".jsonl and lists hold many bundles)."),
    out: Path = typer.Option(..., "--out", help="Folder that gets one sub-folder of answers per bundle."),
    force: bool = typer.Option(False, "--force", help="Answer again bundles that already have answers in --out."),
    backend: str = typer.Option("", "--backend", help=BACKEND_HELP),
    fallback: str | None = typer.Option(None, "--fallback", help=FALLBACK_HELP),
    as_json: bool = JSON,
    engine: str = ENGINE,
    address: str | None = ADDRESS,
    workers: int | None = WORKERS,
) -> None:
    """Answer every bundle; a bad bundle is reported, the others are answered; a re-run skips finished ones."""
    from agent.cli.batch import answer_all, batch_summary, print_summary
    from agent.cli.options import print_json
    from agent.engine import open_engine
    from agent.web.answer import check_backend_name, default_backend_name

    backend = check_backend_name(backend.strip() or default_backend_name())
    if fallback:
        check_backend_name(fallback)
    from tools.files import check_output_folder

    check_output_folder(out, "--out")  # before any bundle is answered
    with open_engine(engine, address, workers) as runner:
        results = answer_all(paths, out, backend, fallback, runner, force=force)
    if as_json:
        print_json(batch_summary(results))
    else:
        print_summary(results)
    if any(result.status == "failed" for result in results):
        raise typer.Exit(1)


def _looks_like_bundle_file(text: str) -> bool:
    """Whether a QUESTION argument is really the path of an existing bundle file."""
    candidate = text.strip()
    if "\n" in candidate or len(candidate) > 4096 or not candidate.lower().endswith(BUNDLE_SUFFIXES):
        return False
    return Path(candidate).is_file()


def _looks_like_a_path(text: str) -> bool:
    """Whether a QUESTION argument reads as a file path rather than words: one line ending in a bundle or Markdown
    suffix, or one word with a path separator (``bundles/q1``, ``./q``, ``~/q``) that is not a link or a question."""
    candidate = text.strip()
    if not candidate or "\n" in candidate or len(candidate) > 4096 or candidate.endswith("?"):
        return False
    if candidate.lower().endswith(PATH_SUFFIXES):
        return True
    separators = "/\\"
    return (any(separator in candidate for separator in separators) and not any(c.isspace() for c in candidate)
            and "://" not in candidate)


def _bundle_for(question: str | None, path: Path | None):
    from knowledge.errors import BundleError
    from knowledge.parser import default_bundle, load_bundle

    if question is not None and path is None and _looks_like_bundle_file(question):
        # `cnaps ask question.txt` means the bundle, not a question that is a file name.
        typer.echo(f"note: reading {question} as the question bundle (same as --bundle {question})", err=True)
        path, question = Path(question.strip()), None
    elif question is not None and path is None and _looks_like_a_path(question) \
            and not Path(question.strip()).is_file():
        if Path(question.strip()).is_dir():
            load_bundle(Path(question.strip()))  # says it is a folder, and that cnaps batch takes folders
        # A mistyped bundle path answered as an off-topic question would look like a successful run.
        raise BundleError(f"{question.strip()}: no such file; give an existing bundle file (.txt, .yaml or .json), "
                          "or ask in words: cnaps ask \"How can I ...?\"")
    base = load_bundle(path) if path is not None else default_bundle()
    if question is None:
        return base
    if not question.strip():
        raise typer.BadParameter("the question is empty", param_hint="QUESTION")
    from knowledge.limits import MAX_QUESTION_CHARS, check_text_field

    check_text_field(question.strip(), "question", "QUESTION", MAX_QUESTION_CHARS)
    return base.model_copy(update={"question": question.strip()})


def _backend(name: str, fallback: str | None):
    from agent.backends import get_backend
    from agent.web.answer import default_backend_name

    options = {"fallback": fallback} if fallback else {}
    return get_backend(name.strip() or default_backend_name(), **options)


def _answer_with_progress(engine, request):
    """Answer, showing a progress bar on stderr while tiles of the image are restored."""
    if request.image is None:
        return engine.answer(request)
    from rich.progress import BarColumn, Progress, TextColumn

    from agent.cli.console import progress_console

    with Progress(TextColumn("[bold]restoring"), BarColumn(), TextColumn("{task.completed}/{task.total} tiles"),
                  console=progress_console(), transient=True) as progress:
        task = progress.add_task("restore", total=None)

        def show(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        request.progress = show
        return engine.answer(request)


def _render(answer, output_format: str) -> str:
    from agent.rendering import render_json, render_markdown

    return render_json(answer) if output_format == "json" else render_markdown(answer)


def refuse_answers_on_inputs(folder: Path, inputs: list[Path]) -> None:
    """Raise a one-line error, before any work, when ``folder`` cannot take outputs or answer.md or answer.json
    in it would replace an input."""
    from tools.errors import RestorationError
    from tools.files import check_output_folder, lands_on

    check_output_folder(folder, "--out")
    for name in ANSWER_FILES:
        for source in inputs:
            if source.exists() and lands_on(folder / name, source):
                raise RestorationError(f"writing {folder / name} would overwrite the input {source}; "
                                       f"choose another --out folder")


def write_answer(answer, folder: Path) -> list[Path]:
    """Write answer.md and answer.json into ``folder``, each atomically; returns their paths."""
    from tools.files import atomic_write_bytes

    written = []
    for name, output_format in zip(ANSWER_FILES, FORMATS):
        path = folder / name
        atomic_write_bytes(path, _render(answer, output_format).encode("utf-8"))
        written.append(path)
    return written
