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


def build_blocks(scorer: HumanScorer) -> Any:
    gr = require("gradio", "human")

    queue = scorer.queue
    experiment_dir = scorer.experiment_dir
    # every answer of the server changes the hidden #mm-seq: the page's type-ahead (keys.py) waits for it
    answers = itertools.count(1)
    unavailable: set[tuple[str, ...]] = set()  # tasks shown without a playable video

    def answer_id() -> str:
        return f"answer-{next(answers)}"

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
                    gr.update(value=None), gr.update(value=""), None, status, answer_id()]
        media = task_media(task, experiment_dir, scorer.media_cache, blind=scorer.blind)
        problems = media.problems
        if media.video_unavailable:
            unavailable.add(task.key)
            problems = [*problems, "Skip it, or Submit saves your score flagged video_unavailable (the analysis "
                        "excludes it)"]
        else:
            unavailable.discard(task.key)
        header = f"### {_md_escape(task.task_type)} · {_md_escape(task.task_id)}"
        if not scorer.blind:
            header += f"  \nModel: **{_md_escape(task.model)}**"
        if view.revisit:
            header += "  \n↩ Re-opened to correct it: submitting overwrites your earlier scoring."
        if problems:
            header += "  \n⚠ " + "; ".join(_md_escape(p) for p in problems)
        saved = view.saved or {}
        key = list(task.key)
        return [gr.update(visible=True), who, progress, header, task.prompt,
                media.first_frame, media.final_frame, media.video,
                gr.update(value=saved.get("score")), gr.update(value=saved.get("comments", "")), key, status,
                answer_id()]

    def fail(message: str) -> list[Any]:
        updates = [gr.update() for _ in OUTPUTS]
        updates[OUTPUTS.index(status)] = f"⚠ {_md_escape(message)}"
        updates[OUTPUTS.index(seq)] = answer_id()
        return updates

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
            return ("", gr.update(), gr.update(), *[gr.update() for _ in OUTPUTS])
        return (annotator, annotator, gr.update(value=annotator),
                *render(annotator, queue.current(annotator), f"Continuing as {_md_escape(annotator)}."))

    # gradio injects the request by type hint; string annotations (PEP 563) are not resolved
    on_load.__annotations__["request"] = gr.Request

    def submit(annotator: str, key: list[str] | None, score: Any, comments: str) -> list[Any]:
        if not annotator:
            return fail("enter your name first")
        if not key:
            return render(annotator, queue.current(annotator), "Nothing to submit.")
        if score is None:
            return fail("choose a score 1–5 first (keys 1–5)")
        flagged = tuple(key) in unavailable
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

    title = f"mmscore human scoring · {scorer.experiment_name}"
    with gr.Blocks(title=title, analytics_enabled=False) as blocks:
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

        OUTPUTS = [main, who, progress, task_md, prompt, first, final, video, score, comments,
                   current_key, status, seq]

        name_events = dict(fn=start, inputs=[name_box, annotator_state],
                           outputs=[annotator_state, stored_name, *OUTPUTS])
        # leave the name box once started, so the next key press is a shortcut, not more name
        blur = "() => { if (document.activeElement) document.activeElement.blur(); }"
        start_btn.click(**name_events).then(fn=None, js=blur)
        name_box.submit(**name_events).then(fn=None, js=blur)
        blocks.load(on_load, inputs=[stored_name], outputs=[annotator_state, stored_name, name_box, *OUTPUTS])
        # a new item starts in shortcut mode even if the last one was submitted from the comments box
        submit_btn.click(submit, inputs=[annotator_state, current_key, score, comments],
                         outputs=OUTPUTS).then(fn=None, js=blur)
        skip_btn.click(skip, inputs=[annotator_state, current_key], outputs=OUTPUTS).then(fn=None, js=blur)
        back_btn.click(back, inputs=[annotator_state], outputs=OUTPUTS).then(fn=None, js=blur)
        refresh_btn.click(refresh, inputs=[annotator_state], outputs=[stats])
    return blocks
