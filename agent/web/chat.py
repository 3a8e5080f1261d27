"""The chat web page (`cnaps chat`): ask a question with an image, see the grounded answer and the restored image."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from agent.answer import GroundedAnswer
from agent.web.answer import answer_bundle, default_backend_name, resolve_bundle, warm_up, with_file_names
from agent.web.limits import UploadError, UploadLimits, check_bundle_bytes, check_image_bytes, check_question
from agent.web.store import JobStore

SEED_SOURCES = "The seed's sources"
UPLOADED_BUNDLE = "An uploaded bundle document"
BUNDLE_FILE_TYPES = [".txt", ".md", ".yaml", ".yml", ".json"]


@dataclass
class ChatReply:
    """What the page shows for one question."""

    answer_markdown: str
    comparison: tuple[str, str] | None
    restored_file: str | None
    status_markdown: str


def page_text(template: str, **variables) -> str:
    """Words the page shows, rendered from ``prompts/``."""
    from agent.prompting import render_template

    return render_template(template, **variables)


def reply_for(answer: GroundedAnswer, image: Path | None) -> ChatReply:
    """The page's view of one verified answer: markdown, before/after pair, download and grounding status.

    The answer shows file names, not the server's folders.
    """
    from agent.rendering import render_markdown

    restored = None
    if answer.restoration is not None and Path(answer.restoration.output_path).is_file():
        restored = answer.restoration.output_path
    answer = with_file_names(answer)
    comparison = (str(image), restored) if image is not None and restored is not None else None
    return ChatReply(answer_markdown=render_markdown(answer), comparison=comparison, restored_file=restored,
                     status_markdown=page_text("chat_status.md.j2", answer=answer, image_given=image is not None))


class ChatSession:
    """Answers the page's requests: checks the uploads, resolves the bundle, runs the backend in a job folder."""

    def __init__(self, store: JobStore | None = None, limits: UploadLimits | None = None) -> None:
        self.store = store or JobStore()
        self.limits = limits or UploadLimits()

    def ask(self, question: str, image: str | None, bundle_choice: str, bundle_file: str | None, backend: str,
            progress=None) -> ChatReply:
        """Answer one request from the page.

        Args:
            image: path of the uploaded image in Gradio's cache, or None.
            bundle_choice: SEED_SOURCES or UPLOADED_BUNDLE.
            bundle_file: path of the uploaded bundle document in Gradio's cache, or None.
            progress: called with (tiles done, tiles total) while restoring.
        """
        question = check_question(question or "", self.limits)
        document = None
        if bundle_choice == UPLOADED_BUNDLE:
            if not bundle_file:
                raise UploadError("choose a bundle document to upload, or pick the seed's sources")
            document = check_bundle_bytes(Path(bundle_file).read_bytes(), None, self.limits)
        bundle = resolve_bundle(question, document, origin=Path(bundle_file).name if document else "<seed>")
        image_path = Path(image) if image else None
        if image_path is not None:
            check_image_bytes(image_path.read_bytes(), None, self.limits)
        job_id, folder = self.store.new_job()
        try:
            answer = answer_bundle(bundle, image_path, backend, folder / "out", progress)
        except BaseException:
            self.store.discard(job_id)
            raise
        return reply_for(answer, image_path)


def build_chat_app(session: ChatSession | None = None):
    """The Gradio Blocks page; every component has an elem_id so the browser test can find it."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    from agent.backends import BACKEND_NAMES
    from agent.errors import USER_ERRORS

    session = session or ChatSession()

    def on_ask(question, image, bundle_choice, bundle_file, backend, progress=gr.Progress()):
        def show_tiles(done: int, total: int) -> None:
            progress((done, total), desc=page_text("chat_progress.txt.j2", stage="tiles"), unit="tiles")

        # Shown until the restoration starts; from then on the tiles done of the total (0/N first).
        progress(0, desc=page_text("chat_progress.txt.j2", stage="start", image_given=bool(image)))
        try:
            reply = session.ask(question, image, bundle_choice, bundle_file, backend, show_tiles)
        except (UploadError, *USER_ERRORS) as error:
            raise gr.Error(str(error), print_exception=False) from error
        return reply.answer_markdown, reply.comparison, reply.restored_file, reply.status_markdown

    with gr.Blocks(title="cnaps-agent", analytics_enabled=False) as page:
        gr.Markdown(page_text("chat_intro.md.j2"), elem_id="intro")
        with gr.Row():
            with gr.Column(scale=1):
                question = gr.Textbox(label="Question", lines=3, elem_id="question",
                                      placeholder="Empty: the bundle's own question")
                image = gr.Image(label="Image (upload or drag and drop)", type="filepath", sources=["upload"],
                                 elem_id="image")
                bundle_choice = gr.Radio([SEED_SOURCES, UPLOADED_BUNDLE], value=SEED_SOURCES,
                                         label="Sources to answer from", elem_id="bundle-choice")
                bundle_file = gr.File(label="Bundle document (CNAPS text, YAML or JSON)", type="filepath",
                                      file_types=BUNDLE_FILE_TYPES, elem_id="bundle-file")
                backend = gr.Dropdown(list(BACKEND_NAMES), value=default_backend_name(), label="Backend",
                                      elem_id="backend")
                ask = gr.Button("Ask", variant="primary", elem_id="ask")
            with gr.Column(scale=2):
                status = gr.Markdown(elem_id="status")
                comparison = gr.ImageSlider(label="Before / after", type="filepath", elem_id="comparison",
                                            max_height=480)
                restored = gr.File(label="Restored image", elem_id="restored-file")
                answer = gr.Markdown(elem_id="answer")
        ask.click(on_ask, inputs=[question, image, bundle_choice, bundle_file, backend],
                  outputs=[answer, comparison, restored, status], concurrency_limit=1,
                  show_progress_on=[comparison])  # one progress bar, where the restored image will appear
    page.queue(max_size=16, default_concurrency_limit=1)
    return page


def launch_chat(host: str = "127.0.0.1", port: int = 7860, share: bool = False) -> None:
    """Serve the chat page until interrupted; system fonts only, so the page needs no internet.

    ``share`` also publishes it through a temporary gradio.live link, which needs internet.
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "monospace"])
    page = build_chat_app()
    # Models load while the first user is still typing.
    threading.Thread(target=warm_up, args=(default_backend_name(),), daemon=True, name="cnaps-warm-up").start()
    # quiet: Gradio's own hint names launch(share=True), which a cnaps user cannot call; `cnaps chat --share` can.
    page.launch(server_name=host, server_port=port, theme=theme, css=page_text("chat_style.css.j2"),
                footer_links=[], ssr_mode=False, show_error=True, max_file_size=UploadLimits().max_image_bytes,
                share=share, quiet=True, prevent_thread_lock=True)
    print(f"* Running on local URL:  http://{host}:{page.server_port}", flush=True)
    if not share:
        print("* For a temporary public link (needs internet), run: cnaps chat --share", flush=True)
    page.block_thread()
