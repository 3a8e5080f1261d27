"""The chat web page (`cnaps chat`): a conversation about an image, answered from the supplied sources.

Each turn runs as a job (``agent/web/jobs.py``), so the reply streams its restoration progress and the stop button
cancels the restoration at its next tile. A follow-up question without an attachment is about the conversation's
last image and bundle document.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from agent.answer import GroundedAnswer
from agent.web.answer import RestoreOptions, answer_bundle, default_backend_name, resolve_bundle, warm_up
from agent.web.jobs import FINISHED, Job, JobBoard
from agent.web.limits import UploadError, UploadLimits, check_bundle_bytes, check_image_bytes, check_question
from agent.web.pool import PoolBusyError, WorkerPool
from agent.web.store import JobStore

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
BUNDLE_SUFFIXES = (".txt", ".md", ".yaml", ".yml", ".json")
AUTO_WEIGHTS = "auto (from the sources)"
# How often a reply refreshes its progress line while the answer is worked out.
PROGRESS_SECONDS = 0.25
_CITATION = re.compile(r"\[(S\d+(?:\s*,\s*S\d+)*)\](?![(\[])")
_REFERENCE_ITEM = re.compile(r"^- \*\*(S\d+) · ", re.MULTILINE)


def page_text(template: str, **variables) -> str:
    """Words the page shows, rendered from ``prompts/``."""
    from agent.prompting import render_template

    return render_template(template, **variables)


@dataclass
class Turn:
    """What one chat message asks: the question and the image and bundle document it is about."""

    question: str
    image: Path | None
    bundle_document: Path | None
    #: the conversation's previous question about the same bundle ("" for a first question or a new document)
    previous_question: str = ""


def _attachments(content: Any) -> list[Path]:
    """The file paths in a message's content, whichever of Gradio's shapes it has."""
    items = content if isinstance(content, list) else [content]
    paths = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("file", item)
            item = item.get("path") if isinstance(item, dict) else item
        elif isinstance(item, (tuple, list)) and item:
            item = item[0]
        if isinstance(item, (str, os.PathLike)) and Path(item).suffix.lower() in IMAGE_SUFFIXES + BUNDLE_SUFFIXES:
            paths.append(Path(item))
    return paths


def read_turn(message: dict | str, history: list[dict]) -> Turn:
    """The question, image and bundle document of ``message``; missing attachments come from earlier user turns."""
    if isinstance(message, str):
        message = {"text": message, "files": []}
    image = bundle_document = None
    earlier = [_attachments(turn.get("content")) for turn in history if turn.get("role") == "user"]
    for files in [*earlier, _attachments(message.get("files") or [])]:
        for path in files:
            if path.suffix.lower() in IMAGE_SUFFIXES:
                image = path
            else:
                bundle_document = path
    new_document = any(path.suffix.lower() not in IMAGE_SUFFIXES for path in _attachments(message.get("files") or []))
    previous = "" if new_document else _previous_question(history)
    return Turn(question=str(message.get("text") or ""), image=image, bundle_document=bundle_document,
                previous_question=previous)


def _previous_question(history: list[dict]) -> str:
    """The text of the last user turn that has one: a follow-up is read with it when it says too little alone."""
    for turn in reversed(history):
        if turn.get("role") != "user":
            continue
        content = turn.get("content")
        items = content if isinstance(content, list) else [content]
        texts = [item if isinstance(item, str) else item.get("text", "") for item in items
                 if isinstance(item, str) or (isinstance(item, dict) and item.get("type") == "text")]
        text = " ".join(part.strip() for part in texts if isinstance(part, str) and part.strip())
        if text:
            return text
    return ""


def chat_markdown(answer: GroundedAnswer, anchor: str) -> str:
    """The answer as chat Markdown: headings sized for a bubble, each ``[S1]`` a link to its reference below.

    Args:
        anchor: a prefix unique to this answer, so the anchors of several answers in one page never clash.
    """
    from agent.rendering import render_markdown
    from agent.web.answer import with_file_names

    text = render_markdown(with_file_names(answer))
    text = re.sub(r"\A# [^\n]*\n+", "", text)  # the bubble is the answer: no page title
    text = re.sub(r"^## ", "#### ", text, flags=re.MULTILINE)
    ids = set(_REFERENCE_ITEM.findall(text))
    text = _REFERENCE_ITEM.sub(lambda match: f'- <a id="{anchor}-{match.group(1)}"></a>**{match.group(1)} · ', text)

    def link(match: re.Match) -> str:
        cited = [part.strip() for part in match.group(1).split(",")]
        if not set(cited) <= ids:
            return match.group(0)
        return ", ".join(f"[\\[{source}\\]](#{anchor}-{source})" for source in cited)

    return _CITATION.sub(link, text)


class ChatSession:
    """Answers chat turns as jobs on a one-worker pool; every folder it writes lives under its ``root``."""

    def __init__(self, root: Path, limits: UploadLimits | None = None, workers: int = 1) -> None:
        self.root = Path(root)
        self.limits = limits or UploadLimits()
        self.board = JobBoard(WorkerPool(workers, queue_size=16), JobStore(self.root))

    def start(self, turn: Turn, backend: str, options: RestoreOptions | None = None) -> Job:
        """Check the turn's uploads and start answering it; UploadError (or a bundle error) says what was wrong."""
        question = check_question(turn.question, self.limits)
        document = None
        if turn.bundle_document is not None:
            document = check_bundle_bytes(turn.bundle_document.read_bytes(), None, self.limits)
        bundle = resolve_bundle(question, document, origin=turn.bundle_document.name if document else "<seed>")
        if turn.previous_question.strip():
            # A follow-up ("and how long does it take?") is read with the question before it.
            previous = turn.previous_question.strip()[-self.limits.max_question_chars:]
            bundle = bundle.model_copy(update={"previous_question": previous})
        if turn.image is not None:
            check_image_bytes(turn.image.read_bytes(), None, self.limits)
        job = self.board.create()
        self.board.start(job, lambda progress: answer_bundle(bundle, turn.image, backend, job.folder / "out",
                                                             progress, options))
        return job

    def follow(self, job: Job, seconds: float = PROGRESS_SECONDS) -> Iterator[Job]:
        """Snapshots of ``job`` as it changes and at least every ``seconds``, the last one finished.

        The regular snapshots matter: Gradio can close (stop) a reply only while it waits between two of them.
        """
        version = -1
        while True:
            snapshot = self.board.wait(job.id, version, seconds)
            if snapshot is None:
                return
            version = snapshot.version
            yield snapshot
            if snapshot.status in FINISHED:
                return

    def close(self) -> None:
        """Stop running restorations and delete every folder of this session."""
        self.board.cancel_all()
        self.board.pool.shutdown()
        self.board.store.close()
        shutil.rmtree(self.root, ignore_errors=True)


def progress_message(job: Job, image_given: bool):
    """The reply's first message: a collapsible progress line, pending until the job finishes."""
    import gradio as gr

    progress = job.progress
    run = job.answer.restoration if job.answer is not None else None
    line = page_text("chat_progress.txt.j2", stage=progress.stage, tiles_done=progress.tiles_done,
                     tiles_total=progress.tiles_total, image_given=image_given,
                     outcome=run.outcome if run is not None else None)
    status = "done" if job.status in FINISHED else "pending"
    return gr.ChatMessage(content=line, metadata={"title": line, "status": status})


def final_messages(job: Job, turn: Turn) -> tuple[list, Any]:
    """The finished reply (status, restored image with its download, answer) and the side slider's new value."""
    import gradio as gr

    if job.status == "cancelled":
        return [progress_message(job, turn.image is not None), page_text("chat_stopped.md.j2")], gr.skip()
    if job.status == "failed" or job.answer is None:
        detail = job.error.detail if job.error else "the answer failed"
        return [page_text("chat_error.md.j2", message=detail)], gr.skip()
    answer = job.answer
    reply = [progress_message(job, turn.image is not None),
             page_text("chat_status.md.j2", answer=answer, image_given=turn.image is not None)]
    slider = None  # an answer without a restored image clears the slider: it must not show an older pair
    run = answer.restoration
    if run is not None and run.applied and Path(run.output_path).is_file() and turn.image is not None:
        pair = (str(turn.image), run.output_path)
        # An image message: shown in the reply with its own download button (the file is <stem>_restored.<ext>).
        # Gradio 6.31's chat cannot hold an ImageSlider, File or Gallery, so the slider sits beside the chat.
        what = "Restored image" if run.outcome == "restored" else "Network output kept on request,"
        reply.append({"role": "assistant", "content": {"path": run.output_path,
                                                       "alt_text": f"{what} {Path(run.output_path).name}"}})
        slider = pair
    reply.append(chat_markdown(answer, anchor=f"a{job.id[:8]}"))
    return reply, slider


def build_chat_app(session: ChatSession):
    """The Gradio page: a multimodal chat, its settings in a sidebar, and a before/after slider beside it."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    from agent.backends import BACKEND_NAMES
    from agent.errors import USER_ERRORS
    from agent.web.guards import redact_paths
    from tools.presets import PRESETS

    def respond(message, history, backend, weights):
        turn = read_turn(message, history)
        try:
            options = RestoreOptions.checked(None if weights == AUTO_WEIGHTS else weights)
            job = session.start(turn, backend, options)
        except (UploadError, PoolBusyError, *USER_ERRORS) as error:
            yield page_text("chat_error.md.j2", message=redact_paths(str(error))), gr.skip()
            return
        try:
            for snapshot in session.follow(job):
                if snapshot.status in FINISHED:
                    yield final_messages(snapshot, turn)
                    return
                yield [progress_message(snapshot, turn.image is not None)], gr.skip()
        finally:
            session.board.cancel(job.id)  # the stop button closed this reply: stop its restoration too

    with gr.Blocks(title="cnaps-agent chat", fill_height=True, analytics_enabled=False) as page:
        with gr.Sidebar(open=True, width=280, elem_id="settings"):
            gr.Markdown(page_text("chat_intro.md.j2"), elem_id="intro")
            backend = gr.Dropdown(list(BACKEND_NAMES), value=default_backend_name(), label="Backend",
                                  elem_id="backend")
            weights = gr.Dropdown([AUTO_WEIGHTS, *PRESETS], value=AUTO_WEIGHTS, label="Restoration weights",
                                  elem_id="weights")
            slider = gr.ImageSlider(label="Before / after", type="filepath", elem_id="comparison",
                                    interactive=False, max_height=220)
        chatbot = gr.Chatbot(label="Conversation", elem_id="conversation", scale=1, min_height=300, buttons=["copy"],
                             placeholder=page_text("chat_placeholder.md.j2"), sanitize_html=True)
        textbox = gr.MultimodalTextbox(elem_id="message", file_types=["image", *BUNDLE_SUFFIXES], file_count="multiple",
                                       placeholder=page_text("chat_message_hint.txt.j2").strip(),
                                       sources=["upload"], max_lines=6, autofocus=True, submit_btn=True,
                                       stop_btn=True)
        chat = gr.ChatInterface(respond, multimodal=True, chatbot=chatbot, textbox=textbox, fill_height=True,
                                additional_inputs=[backend, weights], additional_outputs=[slider],
                                examples=[[example, None, None] for example in EXAMPLE_QUESTIONS],
                                run_examples_on_click=False, concurrency_limit=None)
        # A stopped reply can no longer update itself: its progress line would spin on, so it is closed here.
        textbox.stop(mark_stopped, [chatbot], [chatbot, chat.chatbot_state], queue=False)
    return page


def mark_stopped(history: list[dict]) -> tuple[list[dict], list[dict]]:
    """The conversation after the stop button: pending progress lines closed, and a line saying it stopped."""
    closed = []
    for message in history or []:
        metadata = message.get("metadata") or {}
        if message.get("role") == "assistant" and metadata.get("status") == "pending":
            message = {**message, "metadata": {**metadata, "status": "done"}}
        closed.append(message)
    closed.append({"role": "assistant", "content": page_text("chat_stopped.md.j2")})
    return closed, closed


EXAMPLE_QUESTIONS = [
    {"text": "Can this blurry photo be made sharp, and which model would do it?", "files": []},
    {"text": "Which paper describes the deblurring model, and where is its code?", "files": []},
    {"text": "How does the deblurring model avoid a fake look?", "files": []},
]


def launch_chat(host: str = "127.0.0.1", port: int = 7860, share: bool = False) -> None:
    """Serve the chat page until interrupted; every file it writes is under one folder, removed when it stops.

    Args:
        share: also open a temporary public link through Gradio's share service (needs internet).
    """
    root = Path(tempfile.mkdtemp(prefix="cnaps-chat-"))
    os.environ.setdefault("GRADIO_TEMP_DIR", str(root / "uploads"))
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    session = ChatSession(root)
    atexit.register(session.close)  # also when the process ends some other way than launch() returning
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        # `kill` stops the page as Ctrl+C does (unless the caller, like `cnaps chat`, already said how).
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    import gradio as gr

    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "monospace"])
    page = build_chat_app(session)
    # Models load while the first user is still typing.
    threading.Thread(target=warm_up, args=(default_backend_name(),), daemon=True, name="cnaps-warm-up").start()
    try:
        # quiet: Gradio's own hint says "set share=True in launch()", which a cnaps user cannot do; --share can.
        page.launch(server_name=host, server_port=port, theme=theme, css=page_text("chat_style.css.j2"),
                    footer_links=[], ssr_mode=False, show_error=True, max_file_size=UploadLimits().max_image_bytes,
                    share=share, quiet=True, prevent_thread_lock=True)
        print(f"* Running on local URL:  http://{host}:{page.server_port}", flush=True)
        if not share:
            print("* For a temporary public link (needs internet), run: cnaps chat --share", flush=True)
        page.block_thread()
    finally:
        session.close()
