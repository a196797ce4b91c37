"""Which task an annotator sees next, and where Back and Skip lead. No web code here.

The queue is derived from the files on disk plus the annotator's name, never from browser state,
so a reloaded page, a second tab or a restarted server continue where the annotator was:

* **pending** for annotator A: A has no scoring of the task, and (by default, as in the seed)
  nobody else has one either; with ``include_scored_by_others`` tasks scored only by others stay
  pending for A (a second opinion for inter-annotator agreement). Each check re-reads the task's
  scoring folder, so two annotators working at once do not get a task the other just finished;
  in the default mode a task on another annotator's screen is not offered either.
* **order**: the experiment's (model, task_type, task_id) order, or a seeded shuffle.
* **skip** defers a task to the end of A's queue for this server's lifetime (nothing is written).
* **history**: A's scored tasks ordered by their saved timestamps (read from disk when A first
  appears), extended by every submit and skip. **Back** walks this history; an item opened by
  Back shows the saved score and comments, and submitting it overwrites A's own file and moves
  forward through the history until the queue is reached again.
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mmscore.errors import InputError
from mmscore.human.annotators import annotator_slug, clean_annotator_name
from mmscore.human.store import read_own, save_scoring, task_files
from mmscore.io.experiment import TaskRun, scoring_dir

Key = tuple[str, str, str, str]
#: an item shown to an annotator is not offered to others for this long (a closed tab frees it then)
RESERVATION_SECONDS = 30 * 60


@dataclass
class AnnotatorSession:
    """Server-side position of one annotator (shared by all their tabs)."""

    slug: str
    history: list[Key] = field(default_factory=list)
    cursor: int | None = None          # index into history while revisiting; None = at the queue
    deferred: list[Key] = field(default_factory=list)
    head: Key | None = None            # the queue item currently shown
    known_done: set[Key] = field(default_factory=set)  # cache: never pending again for this annotator
    mine: set[Key] = field(default_factory=set)        # tasks this annotator has a file for


@dataclass(frozen=True)
class View:
    """What the page shows next."""

    task: TaskRun | None               # None: nothing left to score
    revisit: bool                      # opened through Back (prefilled from the saved file)
    saved: dict | None                 # this annotator's saved score/comments, if any
    remaining: int                     # tasks still pending for this annotator (incl. the shown one)
    done_by_me: int
    total: int
    history_position: tuple[int, int] | None = None  # (1-based index, length) while revisiting


@dataclass(frozen=True)
class ModelProgress:
    model: str
    total: int
    scored: int        # tasks with at least one human scoring (any annotator)
    mine: int          # tasks scored by this annotator

    @property
    def percent(self) -> float:
        return 100.0 * self.scored / self.total if self.total else 0.0


class ScoringQueue:
    """All tasks of one experiment plus the per-annotator sessions (thread-safe)."""

    def __init__(self, tasks: Sequence[TaskRun], output_dir: str | Path, *,
                 include_scored_by_others: bool = False, shuffle: bool = False, seed: int = 0,
                 blind: bool = True) -> None:
        self.output_dir = Path(output_dir)
        self.tasks: dict[Key, TaskRun] = {t.key: t for t in tasks}
        self.order: list[Key] = [t.key for t in tasks]
        if shuffle:
            random.Random(seed).shuffle(self.order)
        self.include_scored_by_others = include_scored_by_others
        self.blind = blind
        self._lock = threading.RLock()
        self._sessions: dict[str, AnnotatorSession] = {}
        self._on_screen: dict[str, tuple[Key, float]] = {}

    # ------------------------------------------------------------------ state from disk
    def _folder(self, key: Key) -> Path:
        return scoring_dir(self.output_dir, *key)

    def status(self, key: Key, slug: str) -> str:
        """``"mine"`` (scored by this annotator), ``"others"`` (only by others) or ``"open"``."""
        files = task_files(self._folder(key))
        if any(f.slug == slug for f in files):
            return "mine"
        return "others" if files else "open"

    def is_pending(self, key: Key, slug: str) -> bool:
        state = self.status(key, slug)
        return state == "open" or (state == "others" and self.include_scored_by_others)

    def session(self, annotator: str) -> AnnotatorSession:
        """The annotator's session, created from their files on disk the first time."""
        slug = annotator_slug(annotator)
        with self._lock:
            existing = self._sessions.get(slug)
            if existing is not None:
                return existing
            dated = []
            for key in self.order:
                saved = read_own(self.output_dir, self.tasks[key], slug)
                if saved is not None:
                    dated.append((saved["timestamp"], key))
            dated.sort()
            session = AnnotatorSession(slug=slug, history=[k for _, k in dated],
                                       known_done={k for _, k in dated}, mine={k for _, k in dated})
            self._sessions[slug] = session
            return session

    def refresh(self) -> None:
        """Forget cached 'done' marks (after files were removed or edited by hand)."""
        with self._lock:
            for session in self._sessions.values():
                session.known_done = set(session.mine)

    # ------------------------------------------------------------------ queue
    def _pending(self, session: AnnotatorSession, key: Key) -> bool:
        if key in session.known_done:
            return False
        state = self.status(key, session.slug)
        if state == "mine":
            session.mine.add(key)
        if state == "open" or (state == "others" and self.include_scored_by_others):
            return True
        session.known_done.add(key)  # scorings are never deleted by the UI: not pending again
        return False

    def _reserved_by_other(self, slug: str, key: Key) -> bool:
        if self.include_scored_by_others:
            return False
        now = time.monotonic()
        return any(k == key and other != slug and now - since < RESERVATION_SECONDS
                   for other, (k, since) in self._on_screen.items())

    def _pending_keys(self, session: AnnotatorSession) -> list[Key]:
        deferred = set(session.deferred)
        first = [k for k in self.order if k not in deferred]
        return [k for k in first + session.deferred if self._pending(session, k)]

    def _next_key(self, session: AnnotatorSession, pending: list[Key]) -> Key | None:
        if session.head in pending and not self._reserved_by_other(session.slug, session.head):
            return session.head
        for key in pending:
            if not self._reserved_by_other(session.slug, key):
                return key
        return pending[0] if pending else None

    def current(self, annotator: str) -> View:
        """The item to show now (revisited item, else the queue head)."""
        with self._lock:
            session = self.session(annotator)
            pending = self._pending_keys(session)
            position = None
            if session.cursor is not None:
                key: Key | None = session.history[session.cursor]
                position = (session.cursor + 1, len(session.history))
            else:
                key = self._next_key(session, pending)
                session.head = key
            if key is None:
                self._on_screen.pop(session.slug, None)
            else:
                self._on_screen[session.slug] = (key, time.monotonic())
            task = self.tasks[key] if key is not None else None
            saved = read_own(self.output_dir, task, session.slug) if task is not None else None
            done = len(session.mine)
            return View(task=task, revisit=session.cursor is not None, saved=saved,
                        remaining=len(pending), done_by_me=done, total=len(self.order),
                        history_position=position)

    def _task(self, key: Sequence[str]) -> TaskRun:
        task = self.tasks.get(tuple(key))  # type: ignore[arg-type]
        if task is None:
            raise InputError(f"task {'/'.join(key)} is not part of this experiment")
        return task

    def _advance_from(self, session: AnnotatorSession, key: Key) -> None:
        """After a submit/skip of ``key``: step forward in history or record it there."""
        if session.head == key:
            session.head = None
        if session.cursor is not None:
            if session.history[session.cursor] == key:
                session.cursor += 1
                if session.cursor >= len(session.history):
                    session.cursor = None
            elif key not in session.history:  # from a second tab: remember it, keep the position
                session.history.append(key)
            return  # otherwise a stale request (double press): saved, position unchanged
        if key in session.history:
            session.history.remove(key)
        session.history.append(key)

    def submit(self, annotator: str, key: Sequence[str], score: int | None, comments: str = "",
               video_unavailable: bool = False) -> Path:
        """Save the annotator's score for ``key`` (before anything else happens) and move on;
        ``video_unavailable`` flags a score given while the video could not be played."""
        annotator = clean_annotator_name(annotator)
        task = self._task(key)
        with self._lock:
            session = self.session(annotator)
            path = save_scoring(self.output_dir, task, annotator, score, comments, blind=self.blind,
                                video_unavailable=video_unavailable)
            session.known_done.add(task.key)
            session.mine.add(task.key)
            if task.key in session.deferred:
                session.deferred.remove(task.key)
            self._advance_from(session, task.key)
            return path

    def skip(self, annotator: str, key: Sequence[str]) -> None:
        """Defer ``key`` to the end of the queue (or step forward when revisiting)."""
        task = self._task(key)
        with self._lock:
            session = self.session(annotator)
            revisiting = session.cursor is not None and session.history[session.cursor] == task.key
            if not revisiting and task.key not in session.known_done:
                if task.key in session.deferred:
                    session.deferred.remove(task.key)
                session.deferred.append(task.key)
            self._advance_from(session, task.key)

    def back(self, annotator: str) -> bool:
        """Re-open the previous item of the history; False if there is none."""
        with self._lock:
            session = self.session(annotator)
            if session.cursor is None:
                index = len(session.history) - 1
                if index >= 0 and session.history[index] == session.head:
                    index -= 1
            else:
                index = session.cursor - 1
            if index < 0:
                return False
            session.cursor = index
            return True

    def release(self, annotator: str) -> None:
        """Forget which item the annotator has on screen (they switched name or left)."""
        with self._lock:
            self._on_screen.pop(annotator_slug(annotator), None)

    # ------------------------------------------------------------------ statistics
    def progress(self, annotator: str | None = None) -> list[ModelProgress]:
        """Per-model totals, tasks scored by anyone and by ``annotator``, read from disk now."""
        slug = annotator_slug(annotator) if annotator else None
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for key in self.order:
            files = task_files(self._folder(key))
            row = counts[key[1]]
            row[0] += 1
            row[1] += bool(files)
            row[2] += slug is not None and any(f.slug == slug for f in files)
        return [ModelProgress(model, *values) for model, values in sorted(counts.items())]
