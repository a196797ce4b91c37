"""End to end in real headless Chromium: a person scoring with the keyboard only.

Name -> score three tasks (1-5 + Enter, a comment via C / Esc) -> B back to correct one -> S skip
-> reload (the queue resumes, name remembered) -> the JSON files on disk say exactly that.
Every request leaving 127.0.0.1 is aborted and recorded: the page must not make any.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _expected_order(experiment) -> list[tuple[str, str, str, str]]:
    # the documented default order: sorted by (model, task_type, task_id)
    return sorted((experiment.experiment, t.model, t.task_type, t.task_id) for t in experiment.tasks)


def test_keyboard_scoring_back_reload_and_files(live_server, browser, experiment):
    from playwright.sync_api import expect

    scorer, url = live_server
    order = _expected_order(experiment)
    external: list[str] = []

    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(15_000)

    def guard(route):
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            external.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.goto(url)
    task = page.locator("#mm-task")
    progress = page.locator("#mm-progress")

    # --- the page asks for a name; nothing else is shown yet
    name = page.locator("#mm-annotator textarea, #mm-annotator input").first
    expect(name).to_be_visible()
    expect(page.locator("#mm-main")).to_be_hidden()
    name.focus()
    page.keyboard.type("Ann Example")
    page.keyboard.press("Enter")
    expect(page.locator("#mm-main")).to_be_visible()
    expect(page.locator("#mm-who")).to_contain_text("Ann Example")
    expect(task).to_contain_text(order[0][3])
    expect(progress).to_contain_text("8 left")
    # blind mode: the model name appears nowhere in the scoring area
    assert "model-a" not in page.locator("#mm-main").inner_text()

    # --- the generated video is there, loops and is decodable by the browser (transcoded to H.264)
    page.wait_for_function(
        "() => { const v = document.querySelector('#mm-video video');"
        " return v && v.readyState >= 2 && v.loop && v.duration > 0 && v.videoWidth === 64; }"
    )
    # after Enter in the name box the focus has left it: keys are shortcuts now
    assert page.evaluate("document.activeElement === document.body || !document.activeElement")

    # --- item 1: score 4 with Enter
    page.keyboard.press("4")
    expect(page.locator("#mm-score input[value='4']")).to_be_checked()
    page.keyboard.press("Enter")
    expect(progress).to_contain_text("7 left")
    expect(task).to_contain_text(order[1][3])
    # the form is cleared for the new item
    expect(page.locator("#mm-score input:checked")).to_have_count(0)

    # --- item 2: Enter without a score does not save; then 2 + Enter
    page.keyboard.press("Enter")
    expect(page.locator("#mm-status")).to_contain_text("choose a score")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    expect(progress).to_contain_text("6 left")
    expect(task).to_contain_text(order[2][3])

    # --- item 3: 5, a comment typed after C (letters s/b/digits must not trigger shortcuts), Esc, Enter
    page.keyboard.press("5")
    page.keyboard.press("c")
    page.keyboard.type("sb 12 subtle board glitch")
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    expect(progress).to_contain_text("5 left")
    expect(task).to_contain_text(order[3][3])

    # --- B: back to item 3, prefilled; correct it to 3 and submit from the comments box with Ctrl+Enter
    page.keyboard.press("b")
    expect(task).to_contain_text(order[2][3])
    expect(task).to_contain_text("Re-opened")
    expect(page.locator("#mm-score input[value='5']")).to_be_checked()
    expect(page.locator("#mm-comments textarea")).to_have_value("sb 12 subtle board glitch")
    page.keyboard.press("3")
    page.keyboard.press("c")
    page.keyboard.type(" (corrected)")
    page.keyboard.press("Control+Enter")
    # back at the queue head: item 4
    expect(task).to_contain_text(order[3][3])
    expect(task).not_to_contain_text("Re-opened")
    expect(progress).to_contain_text("5 left")

    # --- S: skip item 4 -> item 5
    page.keyboard.press("s")
    expect(page.locator("#mm-status")).to_contain_text("Skipped")
    expect(progress).to_contain_text("5 left")  # a skipped task stays in the queue (at its end)
    blind_text = page.locator("#mm-main").inner_text()
    assert "model-b" not in blind_text
    expect(task).to_contain_text(order[4][3])

    # --- statistics panel (opened with the mouse: it is not part of scoring): model-a 3/4, all 3/8
    page.locator("#mm-stats-panel button, #mm-stats-panel .label-wrap").first.click()
    page.locator("#mm-refresh").click()
    expect(page.locator("#mm-stats")).to_contain_text("75.0%")
    expect(page.locator("#mm-stats")).to_contain_text("37.5%")

    screenshot = REPO_ROOT / "test-artifacts" / "human_ui.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshot), full_page=True)

    # --- reload: the name comes back from the browser, the queue resumes at item 5 (4 was skipped)
    page.reload()
    expect(page.locator("#mm-main")).to_be_visible()
    expect(page.locator("#mm-who")).to_contain_text("Ann Example")
    expect(task).to_contain_text(order[4][3])
    expect(progress).to_contain_text("5 left")
    # Back after the reload walks the same history: the skipped item 4 (no score), then item 3 as corrected
    page.keyboard.press("b")
    expect(task).to_contain_text(order[3][3])
    expect(task).to_contain_text("Re-opened")
    expect(page.locator("#mm-score input:checked")).to_have_count(0)
    page.keyboard.press("b")
    expect(task).to_contain_text(order[2][3])
    expect(page.locator("#mm-score input[value='3']")).to_be_checked()
    page.close()

    assert external == [], f"the page tried to reach the network: {external}"

    # --- the files on disk, read independently with json
    out = Path(scorer.output_dir)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.json"))
    expected_paths = [f"{e}/{m}/{tt}/{tid}/human-eval.json" for e, m, tt, tid in order[:3]]
    assert files == sorted(expected_paths)
    contents = [json.loads((out / p).read_text(encoding="utf-8")) for p in expected_paths]
    for (exp_name, model, task_type, task_id), data in zip(order[:3], contents, strict=True):
        assert data["metadata"]["annotator"] == "Ann Example"
        assert data["metadata"]["scorer"] == "human-eval"
        assert (
            data["metadata"]["model_name"],
            data["metadata"]["task_type"],
            data["metadata"]["task_id"],
            data["metadata"]["experiment"],
        ) == (model, task_type, task_id, exp_name)
        assert data["result"]["status"] == "completed"
    assert [d["result"]["solution_correctness_score"] for d in contents] == [4, 2, 3]
    assert [d["result"]["comments"] for d in contents] == ["", "", "sb 12 subtle board glitch (corrected)"]
    assert not list(out.rglob(".*.tmp")), "temporary files left behind"


@pytest.fixture()
def agreement_server(experiment, tmp_path: Path, serving):
    """A server offering tasks scored by others, started with --annotator Carol; Ann scored item 1."""
    from mmscore.human import HumanScorer
    from mmscore.human.store import save_scoring
    from mmscore.io.experiment import discover_tasks

    first = discover_tasks(experiment.experiment, experiment.data_dir)[0]
    save_scoring(tmp_path, first, "Ann Example", 4, "first opinion")
    scorer = HumanScorer(
        experiment_name=experiment.experiment,
        data_dir=experiment.data_dir,
        output_dir=tmp_path,
        annotator="Carol",
        include_scored_by_others=True,
    )
    with serving(scorer) as running:
        yield running


def test_second_annotators_get_their_own_files(agreement_server, browser, experiment):
    """--annotator pre-fills the name (no question asked); ?annotator= in the URL wins; with
    --include-scored-by-others both re-score Ann's item into files of their own."""
    from playwright.sync_api import expect

    scorer, url = agreement_server
    first = _expected_order(experiment)[0]
    for query, who, score in (("", "Carol", "5"), ("?annotator=Bob%20B.", "Bob B.", "1")):
        context = browser.new_context()  # fresh localStorage: a different person's browser
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(url + query)
        expect(page.locator("#mm-who")).to_contain_text(who)
        expect(page.locator("#mm-task")).to_contain_text(first[3])
        expect(page.locator("#mm-score input:checked")).to_have_count(0)  # Ann's score is not shown
        page.keyboard.press(score)
        page.keyboard.press("Enter")
        expect(page.locator("#mm-status")).to_contain_text("Saved")
        context.close()

    folder = Path(scorer.output_dir).joinpath(*first)
    saved = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")}
    assert sorted(saved) == ["human-eval.json", "human-eval@bob-b.json", "human-eval@carol.json"]
    assert (
        saved["human-eval.json"]["metadata"]["annotator"],
        saved["human-eval.json"]["result"]["solution_correctness_score"],
    ) == ("Ann Example", 4)
    assert saved["human-eval@carol.json"]["result"]["solution_correctness_score"] == 5
    assert saved["human-eval@bob-b.json"]["metadata"]["annotator"] == "Bob B."
    assert saved["human-eval@bob-b.json"]["result"]["solution_correctness_score"] == 1


@pytest.fixture()
def fresh_server(experiment, tmp_path: Path, serving):
    """A server over the experiment with an empty scoring folder of its own."""
    from mmscore.human import HumanScorer

    scorer = HumanScorer(experiment_name=experiment.experiment, data_dir=experiment.data_dir,
                         output_dir=tmp_path)
    with serving(scorer) as running:
        yield running


def test_keys_typed_ahead_land_on_the_item_they_were_meant_for(fresh_server, browser, experiment):
    """A fast annotator does not wait for the page: '4 Enter 3 Enter C note Esc 5 Enter S' typed in
    one go must give item 1 = 4, item 2 = 3, item 3 = 5 with the note, and skip item 4 (before the
    fix, keys pressed while the server answered were dropped or applied to the previous item)."""
    from playwright.sync_api import expect

    scorer, url = fresh_server
    order = _expected_order(experiment)
    page = browser.new_page()
    page.set_default_timeout(15_000)
    page.goto(url + "?annotator=Fast%20Fingers")
    expect(page.locator("#mm-task")).to_contain_text(order[0][3])
    for key in ("4", "Enter", "3", "Enter", "c"):
        page.keyboard.press(key)
    page.keyboard.type("late note")
    for key in ("Escape", "5", "Enter", "s"):
        page.keyboard.press(key)
    expect(page.locator("#mm-status")).to_contain_text("Skipped", timeout=30_000)
    expect(page.locator("#mm-task")).to_contain_text(order[4][3])
    page.close()

    out = Path(scorer.output_dir)
    saved = {}
    for key in order[:4]:
        path = out.joinpath(*key) / "human-eval.json"
        if path.exists():
            result = json.loads(path.read_text(encoding="utf-8"))["result"]
            saved[key] = (result["solution_correctness_score"], result["comments"])
    assert saved == {order[0]: (4, ""), order[1]: (3, ""), order[2]: (5, "late note")}


def test_a_task_without_a_playable_video_is_saved_flagged(serving, browser, tmp_path):
    """Issue 21: a video that cannot be decoded can be skipped, or its score is saved flagged
    ``video_unavailable`` (the analysis excludes it) — never as a plain completed scoring."""
    from playwright.sync_api import expect

    from mmscore.analysis.load import load_scorings
    from mmscore.human import HumanScorer
    from mmscore.testing.experiments import make_experiment

    exp = make_experiment(tmp_path / "data", models=("m",), task_types=("chess_task",), n_tasks=2,
                          corrupt_videos=("chess_0000",))
    out = tmp_path / "scorings" / "human-eval"
    with serving(HumanScorer(experiment_name=exp.experiment, data_dir=exp.data_dir, output_dir=out)) as (_, url):
        page = browser.new_page()
        page.set_default_timeout(15_000)
        page.goto(url + "?annotator=Ann")
        task = page.locator("#mm-task")
        expect(task).to_contain_text("chess_0000")
        expect(task).to_contain_text("video_unavailable")
        page.keyboard.press("5")
        page.keyboard.press("Enter")
        expect(page.locator("#mm-status")).to_contain_text("excluded from analysis")
        expect(task).to_contain_text("chess_0001")
        expect(task).not_to_contain_text("video_unavailable")
        page.keyboard.press("4")
        page.keyboard.press("Enter")
        expect(page.locator("#mm-status")).to_contain_text("score 4 (correct)")
        page.close()
    flagged = json.loads(next(out.rglob("chess_0000/human-eval.json")).read_text())["result"]
    assert flagged["video_unavailable"] is True and flagged["solution_correctness_score"] == 5
    table = load_scorings(out)
    assert table.excluded_counts() == {"video_unavailable": 1} and table.valid["task_id"].tolist() == ["chess_0001"]
