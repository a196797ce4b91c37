"""The Gradio page: one task at a time, rubric, comments, Submit / Skip / Back, progress panel.

Every handler saves first and renders second, so the item on screen is the only thing a crash
or a closed tab can lose. Which item comes next is decided by :class:`~mmscore.human.queue.
ScoringQueue` from the files on disk; the page keeps only the annotator's name (browser
localStorage, or ``?annotator=NAME`` in the URL) and the key of the item it shows.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no phoning home

from mmscore.errors import InputError, require  # noqa: E402
from mmscore.human.annotators import clean_annotator_name  # noqa: E402
from mmscore.human.keys import HELP_MARKDOWN, KEYBOARD_JS  # noqa: E402
from mmscore.human.media import task_media  # noqa: E402
from mmscore.human.queue import View  # noqa: E402
from mmscore.human.rubric import SUCCESS_THRESHOLD, rubric_choices  # noqa: E402

if TYPE_CHECKING:
    from mmscore.human.scorer import HumanScorer

log = logging.getLogger(__name__)

BROWSER_STORAGE_KEY = "mmscore-human-annotator"
CSS = """
#mm-task { font-size: 1.05em; }
#mm-status { min-height: 1.5em; }
#mm-media img, #mm-media video { object-fit: contain; }
#mm-seq { display: none !important; }
"""


def launch_head() -> str:
    return KEYBOARD_JS


def _md_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "\\`*_{}[]()#+-.!|<>~" else ch for ch in text)


def progress_markdown(scorer: HumanScorer, annotator: str | None) -> str:
    rows = scorer.queue.progress(annotator)
    lines = ["| Model | Tasks | Scored (anyone) | Completion | Scored by you |", "|---|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {_md_escape(row.model)} | {row.total} | {row.scored} | {row.percent:.1f}% "
                     f"| {row.mine} |")
    total = sum(r.total for r in rows)
    scored = sum(r.scored for r in rows)
    mine = sum(r.mine for r in rows)
    percent = 100.0 * scored / total if total else 0.0
    lines.append(f"| **All** | **{total}** | **{scored}** | **{percent:.1f}%** | **{mine}** |")
    return "\n".join(lines)


class _PageState:
    """What the handlers of one page share: the answer counter and the tasks without a playable video."""

    def __init__(self) -> None:
        # every answer of the server changes the hidden #mm-seq: the page's type-ahead (keys.py) waits for it
        self.answers = itertools.count(1)
        self.unavailable: set[tuple[str, ...]] = set()  # tasks shown without a playable video

    def answer_id(self) -> str:
        return f"answer-{next(self.answers)}"


@dataclass
class _Components:
    """The page's Gradio components that handlers read or update."""

    annotator_state: Any
    current_key: Any
    stored_name: Any
    name_box: Any
    start_btn: Any
    main: Any
    who: Any
    progress: Any
    task_md: Any
    prompt: Any
    first: Any
    final: Any
    video: Any
    score: Any
    comments: Any
    back_btn: Any
    skip_btn: Any
    submit_btn: Any
    status: Any
    seq: Any
    stats: Any
    refresh_btn: Any

    @property
    def outputs(self) -> list[Any]:
        """What every render updates (order matches ``render``'s list)."""
        return [self.main, self.who, self.progress, self.task_md, self.prompt, self.first, self.final,
                self.video, self.score, self.comments, self.current_key, self.status, self.seq]


def _layout(gr: Any, scorer: HumanScorer) -> _Components:
    """Create the page's components (inside an open ``gr.Blocks``), top to bottom."""
    annotator_state = gr.State("")
    current_key = gr.State(None)
    stored_name = gr.BrowserState("", storage_key=BROWSER_STORAGE_KEY, secret="mmscore-human-annotator")
    gr.Markdown(f"## Human scoring · `{scorer.experiment_name}`"
                + (" · blind mode (model names hidden)" if scorer.blind else ""))
    with gr.Row(equal_height=True):
        name_box = gr.Textbox(label="Annotator name", placeholder="Your name, then Enter",
                              value=scorer.annotator or "", elem_id="mm-annotator", scale=3)
        start_btn = gr.Button("Start scoring", elem_id="mm-start", scale=1)
    with gr.Column(visible=False, elem_id="mm-main") as main:
        who = gr.Markdown(elem_id="mm-who")
        progress = gr.Markdown(elem_id="mm-progress")
        task_md = gr.Markdown(elem_id="mm-task")
        prompt = gr.Textbox(label="Task prompt", interactive=False, lines=2, elem_id="mm-prompt")
        with gr.Row(elem_id="mm-media"):
            first = gr.Image(label="First frame (input)", type="filepath", interactive=False,
                             elem_id="mm-first", buttons=[], height=260)
            final = gr.Image(label="Expected final frame", type="filepath", interactive=False,
                             elem_id="mm-final", buttons=[], height=260)
            video = gr.Video(label="Generated video", interactive=False, autoplay=True, loop=True,
                             elem_id="mm-video", buttons=[], height=260)
        score = gr.Radio(choices=rubric_choices(), elem_id="mm-score",
                         label="Solution correctness (4 and 5 count as correct)")
        comments = gr.Textbox(label="Comments (optional)", lines=2, elem_id="mm-comments",
                              placeholder="Edge cases, ambiguities… (C to type, Esc to leave)")
        with gr.Row():
            back_btn = gr.Button("← Back (B)", elem_id="mm-back")
            skip_btn = gr.Button("Skip (S)", elem_id="mm-skip")
            submit_btn = gr.Button("Submit (Enter)", variant="primary", elem_id="mm-submit")
        status = gr.Markdown(elem_id="mm-status")
        seq = gr.Markdown("answer-0", elem_id="mm-seq")
        gr.Markdown(HELP_MARKDOWN)
    with gr.Accordion("Progress by model", open=False, elem_id="mm-stats-panel"):
        stats = gr.Markdown(progress_markdown(scorer, None), elem_id="mm-stats")
        refresh_btn = gr.Button("Refresh", elem_id="mm-refresh", size="sm")
    return _Components(
        annotator_state=annotator_state, current_key=current_key, stored_name=stored_name, name_box=name_box,
        start_btn=start_btn, main=main, who=who, progress=progress, task_md=task_md, prompt=prompt,
        first=first, final=final, video=video, score=score, comments=comments, back_btn=back_btn,
        skip_btn=skip_btn, submit_btn=submit_btn, status=status, seq=seq, stats=stats, refresh_btn=refresh_btn,
    )


def _task_header(scorer: HumanScorer, view: View, problems: list[str]) -> str:
    """The markdown above a task: type and id, the model (unless blind), revisit and media warnings."""
    task = view.task
    header = f"### {_md_escape(task.task_type)} · {_md_escape(task.task_id)}"
    if not scorer.blind:
        header += f"  \nModel: **{_md_escape(task.model)}**"
    if view.revisit:
        header += "  \n↩ Re-opened to correct it: submitting overwrites your earlier scoring."
    if problems:
        header += "  \n⚠ " + "; ".join(_md_escape(p) for p in problems)
    return header


def _make_render(gr: Any, scorer: HumanScorer, page: _PageState) -> Callable[[str, View, str], list[Any]]:
    """The function turning a queue view into updates for ``_Components.outputs``."""

    def render(annotator: str, view: View, status: str) -> list[Any]:
        """Updates for ``OUTPUTS`` (order matters)."""
        who = f"Scoring as **{_md_escape(annotator)}** · experiment `{scorer.experiment_name}`"
        if view.revisit and view.history_position:
            index, length = view.history_position
            where = f"Re-opened item {index} of your {length} scored items"
        else:
            where = f"{view.remaining} left in your queue"
        progress = f"{where} · you scored {view.done_by_me} of {view.total} tasks"
        task = view.task
        if task is None:
            done = "### All done 🎉\nNo tasks are left in your queue. Press **B** to revisit your last item."
            return [gr.update(visible=True), who, progress, done, "", None, None, None,
                    gr.update(value=None), gr.update(value=""), None, status, page.answer_id()]
        media = task_media(task, scorer.experiment_dir, scorer.media_cache, blind=scorer.blind)
        problems = media.problems
        if media.video_unavailable:
            page.unavailable.add(task.key)
            problems = [*problems, "Skip it, or Submit saves your score flagged video_unavailable (the analysis "
                        "excludes it)"]
        else:
            page.unavailable.discard(task.key)
        header = _task_header(scorer, view, problems)
        saved = view.saved or {}
        key = list(task.key)
        return [gr.update(visible=True), who, progress, header, task.prompt,
                media.first_frame, media.final_frame, media.video,
                gr.update(value=saved.get("score")), gr.update(value=saved.get("comments", "")), key, status,
                page.answer_id()]

    return render


def _make_fail(gr: Any, ui: _Components, page: _PageState) -> Callable[[str], list[Any]]:
    """The function that leaves the page as it is and shows an error in the status line."""
    outputs = ui.outputs

    def fail(message: str) -> list[Any]:
        updates = [gr.update() for _ in outputs]
        updates[outputs.index(ui.status)] = f"⚠ {_md_escape(message)}"
        updates[outputs.index(ui.seq)] = page.answer_id()
        return updates

    return fail


def _name_handlers(gr: Any, scorer: HumanScorer, ui: _Components, render: Callable, fail: Callable
                   ) -> tuple[Callable, Callable]:
    """``start`` (name typed) and ``on_load`` (page opened: URL, browser storage or --annotator)."""
    queue = scorer.queue

    def start(name: str, previous: str) -> tuple[Any, ...]:
        try:
            annotator = clean_annotator_name(name)
        except InputError as exc:
            return (gr.update(), gr.update(), *fail(str(exc)))
        if previous and previous != annotator:
            queue.release(previous)  # free the item the previous name had on screen
        return (annotator, annotator, *render(annotator, queue.current(annotator), ""))

    def on_load(stored: str | None, request: Any = None) -> tuple[Any, ...]:
        name = (request.query_params.get("annotator") if request is not None else None) or stored \
            or scorer.annotator or ""
        try:
            annotator = clean_annotator_name(name) if name else ""
        except InputError:
            annotator = ""
        if not annotator:  # ask for the name; leave whatever is being typed alone
            return ("", gr.update(), gr.update(), *[gr.update() for _ in ui.outputs])
        return (annotator, annotator, gr.update(value=annotator),
                *render(annotator, queue.current(annotator), f"Continuing as {_md_escape(annotator)}."))

    # gradio injects the request by type hint; string annotations (PEP 563) are not resolved
    on_load.__annotations__["request"] = gr.Request
    return start, on_load


def _action_handlers(scorer: HumanScorer, page: _PageState, render: Callable, fail: Callable
                     ) -> tuple[Callable, Callable, Callable, Callable]:
    """``submit``, ``skip``, ``back`` and ``refresh``: each saves first, then renders."""
    queue = scorer.queue

    def submit(annotator: str, key: list[str] | None, score: Any, comments: str) -> list[Any]:
        if not annotator:
            return fail("enter your name first")
        if not key:
            return render(annotator, queue.current(annotator), "Nothing to submit.")
        if score is None:
            return fail("choose a score 1–5 first (keys 1–5)")
        flagged = tuple(key) in page.unavailable
        try:
            path = queue.submit(annotator, key, int(score), comments or "", video_unavailable=flagged)
        except InputError as exc:
            return fail(str(exc))
        verdict = "video unavailable, excluded from analysis" if flagged else (
            "correct" if int(score) >= SUCCESS_THRESHOLD else "incorrect")
        # in blind mode the folder (which names the model) is not shown, only the file name
        rel = path.name if scorer.blind else (
            path.relative_to(scorer.output_dir) if path.is_relative_to(scorer.output_dir) else path)
        status = f"✓ Saved {_md_escape(key[3])}: score {int(score)} ({verdict}) → `{rel}`"
        return render(annotator, queue.current(annotator), status)

    def skip(annotator: str, key: list[str] | None) -> list[Any]:
        if not annotator:
            return fail("enter your name first")
        if key:
            try:
                queue.skip(annotator, key)
            except InputError as exc:
                return fail(str(exc))
        status = f"Skipped {_md_escape(key[3])}; it comes back at the end." if key else ""
        return render(annotator, queue.current(annotator), status)

    def back(annotator: str) -> list[Any]:
        if not annotator:
            return fail("enter your name first")
        if not queue.back(annotator):
            return render(annotator, queue.current(annotator), "Nothing to go back to yet.")
        return render(annotator, queue.current(annotator), "")

    def refresh(annotator: str) -> str:
        queue.refresh()
        return progress_markdown(scorer, annotator or None)

    return submit, skip, back, refresh


def build_blocks(scorer: HumanScorer) -> Any:
    gr = require("gradio", "human")

    title = f"mmscore human scoring · {scorer.experiment_name}"
    with gr.Blocks(title=title, analytics_enabled=False) as blocks:
        ui = _layout(gr, scorer)
        page = _PageState()
        render = _make_render(gr, scorer, page)
        fail = _make_fail(gr, ui, page)
        start, on_load = _name_handlers(gr, scorer, ui, render, fail)
        submit, skip, back, refresh = _action_handlers(scorer, page, render, fail)
        OUTPUTS = ui.outputs

        name_events = dict(fn=start, inputs=[ui.name_box, ui.annotator_state],
                           outputs=[ui.annotator_state, ui.stored_name, *OUTPUTS])
        # leave the name box once started, so the next key press is a shortcut, not more name
        blur = "() => { if (document.activeElement) document.activeElement.blur(); }"
        ui.start_btn.click(**name_events).then(fn=None, js=blur)
        ui.name_box.submit(**name_events).then(fn=None, js=blur)
        blocks.load(on_load, inputs=[ui.stored_name],
                    outputs=[ui.annotator_state, ui.stored_name, ui.name_box, *OUTPUTS])
        # a new item starts in shortcut mode even if the last one was submitted from the comments box
        ui.submit_btn.click(submit, inputs=[ui.annotator_state, ui.current_key, ui.score, ui.comments],
                            outputs=OUTPUTS).then(fn=None, js=blur)
        ui.skip_btn.click(skip, inputs=[ui.annotator_state, ui.current_key], outputs=OUTPUTS).then(fn=None, js=blur)
        ui.back_btn.click(back, inputs=[ui.annotator_state], outputs=OUTPUTS).then(fn=None, js=blur)
        ui.refresh_btn.click(refresh, inputs=[ui.annotator_state], outputs=[ui.stats])
    return blocks
