"""End-to-end judge runs against a fault-injecting local server: outcomes, resume, cache, prompts, budget."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import pytest

from mmscore.io.experiment import iter_scorings
from mmscore.testing.experiments import make_experiment
from mmscore.testing.fake_openai import FakeOpenAIServer, Reply

from .conftest import PerTask, run_cli, scorings

TASK_TYPES = ("chess_task", "maze_task", "raven_task", "sudoku_task")


@pytest.fixture
def experiment(tmp_path: Path):
    return make_experiment(tmp_path, task_types=TASK_TYPES, n_tasks=2, without_final_frame={"sudoku_0001"})


def test_every_task_ends_completed_failed_or_skipped_with_reason(experiment, tmp_path: Path) -> None:
    plan = {
        "chess_0000": [5],
        "chess_0001": [Reply.rate_limited(retry_after=0), 4],
        "maze_0000": [Reply.error(500)],
        "maze_0001": [Reply.hang(3.0)],
        "raven_0000": [Reply.malformed_body(), 3],
        "raven_0001": [Reply.score(7)],
        "sudoku_0000": [Reply.text("The solution looks right, 5/5."), 2],
    }
    with FakeOpenAIServer(responder=PerTask(plan)) as server:
        assert run_cli(server, tmp_path, "--timeout", "0.4", "--retries", "1") == 0
        first_requests = server.chat_count
    files = scorings(tmp_path)
    assert len(files) == 16
    expected = {
        "chess_0000": ("completed", 5),
        "chess_0001": ("completed", 4),
        "maze_0000": ("failed", None),
        "maze_0001": ("failed", None),
        "raven_0000": ("completed", 3),
        "raven_0001": ("failed", None),
        "sudoku_0000": ("completed", 2),
        "sudoku_0001": ("skipped", None),
    }
    for (model, task_type, task_id), data in files.items():
        result, meta = data["result"], data["metadata"]
        # the score key only in completed scorings (VMEvalKit's own unscored records omit it)
        assert ("solution_correctness_score" in result) == (result["status"] == "completed"), task_id
        assert (result["status"], result.get("solution_correctness_score")) == expected[task_id], task_id
        assert (meta["model_name"], meta["task_type"], meta["task_id"]) == (model, task_type, task_id)
        assert meta["experiment"] == "pilot_experiment" and meta["judge_model"] == "gpt-4o"
        assert len(meta["prompt_sha256"]) == 64
        if result["status"] != "completed":
            assert result["reason"]
    reasons = {key[2]: data["result"].get("reason", "") for key, data in files.items()}
    assert "HTTP 500" in reasons["maze_0000"] and "gave up after 2 attempts" in reasons["maze_0000"]
    maze = files[("model-a", "maze_task", "maze_0000")]["result"]
    assert [a["status"] for a in maze["attempts"]] == [500, 500]  # the record of every try
    assert maze["error_type"] == "JudgeHTTPError"
    assert "timed out" in reasons["maze_0001"]
    assert "got 7" in reasons["raven_0001"] and "re-ask" in reasons["raven_0001"]
    assert "final frame" in reasons["sudoku_0001"]
    sudoku = files[("model-a", "sudoku_task", "sudoku_0000")]["result"]
    assert sudoku["judgements"][0]["reasked"] is True
    # 3 images per request: input, expected final frame, generated last frame
    assert all(r.n_images == 3 for r in server.chat_requests)

    aggregate = json.loads(
        (
            tmp_path / "scorings/openai-compatible-eval/pilot_experiment/"
            "OpenAICompatibleScorer_all_models.json"
        ).read_text()
    )
    assert aggregate["metadata"]["counts"] == {"completed": 8, "failed": 6, "skipped": 2}
    assert (
        aggregate["results"]["model-b"]["evaluations"]["chess_task"]["chess_0001"][
            "solution_correctness_score"
        ]
        == 4
    )
    # scores 5, 4, 3, 2 for each model: mean 3.5, success (>= 4) 2 of 4
    assert aggregate["metadata"]["mean_score"] == 3.5 and aggregate["metadata"]["success_rate"] == 0.5

    # second run: completed and skipped are kept, only the failed ones are asked again
    plan.update({"maze_0000": [4], "maze_0001": [4], "raven_0001": [1]})
    with FakeOpenAIServer(responder=PerTask(plan)) as server:
        assert run_cli(server, tmp_path) == 0
        assert server.chat_count == 6
    after = scorings(tmp_path)
    assert all(d["result"]["status"] in ("completed", "skipped") for d in after.values())
    for key, data in files.items():
        if data["result"]["status"] == "completed":
            assert after[key] == data  # byte-for-byte the same content: reused, not rewritten
    aggregate = json.loads(
        (
            tmp_path / "scorings/openai-compatible-eval/pilot_experiment/"
            "OpenAICompatibleScorer_all_models.json"
        ).read_text()
    )
    assert aggregate["metadata"]["counts"] == {"completed": 14, "failed": 0, "skipped": 2}
    assert first_requests > 14


def test_second_run_makes_zero_requests_and_changed_prompt_rescores(experiment, tmp_path: Path) -> None:
    with FakeOpenAIServer(responder=lambda r: 4) as server:
        assert run_cli(server, tmp_path) == 0
        assert server.chat_count == 14  # 16 tasks, 2 without a final frame
        server.reset_counts()
        assert run_cli(server, tmp_path) == 0
        assert server.chat_count == 0  # resume: all completed with the same identity
        # --rescore redoes the work, but the cache answers: still no request
        assert run_cli(server, tmp_path, "--rescore") == 0
        assert server.chat_count == 0
        # a changed prompt file changes the hash: every task is scored again, with new requests
        original = resources.files("mmscore").joinpath("prompts", "vmeval_final_frame_v1.yaml").read_text()
        changed = tmp_path / "my_prompt.yaml"
        changed.write_text(
            original.replace("version: 1", "version: 2").replace(
                "Ignore video quality", "Disregard video quality"
            )
        )
        assert run_cli(server, tmp_path, "--prompt", str(changed)) == 0
        assert server.chat_count == 14
        assert "Disregard video quality" in server.chat_requests[0].messages[0]["content"]
        # another judge model also re-scores
        server.reset_counts()
        assert run_cli(server, tmp_path, "--prompt", str(changed), "--model", "gpt-4o-mini") == 0
        assert server.chat_count == 14
    import hashlib

    data = scorings(tmp_path)
    assert {d["metadata"]["prompt_sha256"] for d in data.values()} == {
        hashlib.sha256(changed.read_bytes()).hexdigest()
    }
    assert {d["metadata"]["prompt_version"] for d in data.values()} == {"2"}
    assert {d["metadata"]["judge_model"] for d in data.values()} == {"gpt-4o-mini"}


def test_max_cost_stops_cleanly_and_resumes(tmp_path: Path) -> None:
    make_experiment(tmp_path, n_tasks=2)  # 8 tasks, sorted by model, task type, id
    with FakeOpenAIServer(usage=(1000, 50)) as server:  # gpt-4o: $0.003 per request
        assert run_cli(server, tmp_path, "-c", "1", "--max-cost", "0.0065") == 3
        assert server.chat_count == 3  # 0 -> 0.003 -> 0.006 < 0.0065 -> 0.009: stop
        files = scorings(tmp_path)
        assert len(files) == 3  # which three depends on which prepared task got the request slot
        assert all(d["result"]["status"] == "completed" for d in files.values())  # no failure written
        assert run_cli(server, tmp_path, "-c", "1", "--max-cost", "1") == 0
        assert server.chat_count == 8
    assert len(scorings(tmp_path)) == 8


def test_multi_frame_vote_and_agreement(tmp_path: Path) -> None:
    make_experiment(tmp_path, models=("m",), task_types=("chess_task",), n_tasks=1, n_frames=8, fps=8)
    with FakeOpenAIServer(script=[Reply.score(5), Reply.score(2), Reply.score(5)]) as server:
        assert run_cli(server, tmp_path, "--frames", "3", "--last-seconds", "0.5", "-c", "1") == 0
        assert server.chat_count == 3
    (data,) = scorings(tmp_path).values()
    result = data["result"]
    # 8 frames at 8 fps (t = 0 .. 0.875 s); 3 frames over the last 0.5 s: t = 0.375, 0.625, 0.875
    assert [j["frame_index"] for j in result["judgements"]] == [3, 5, 7]
    assert [j["timestamp"] for j in result["judgements"]] == [0.375, 0.625, 0.875]
    assert sorted(j["score"] for j in result["judgements"]) == [2, 5, 5]
    assert result["solution_correctness_score"] == 5
    assert result["vote"]["agreement"] == pytest.approx(2 / 3, abs=1e-4)
    assert result["vote"]["mean"] == pytest.approx(4.0)
    assert data["metadata"]["settings"]["frames"] == 3


def test_samples_mean_vote_and_independent_cache_entries(tmp_path: Path) -> None:
    make_experiment(tmp_path, models=("m",), task_types=("chess_task",), n_tasks=1)
    args = ("--samples", "3", "--temperature", "0.7", "--vote", "mean", "-c", "1")
    with FakeOpenAIServer(script=[Reply.score(4), Reply.score(4), Reply.score(1)]) as server:
        assert run_cli(server, tmp_path, *args) == 0
        assert server.chat_count == 3
        assert {r.body["temperature"] for r in server.chat_requests} == {0.7}
        assert run_cli(server, tmp_path, *args, "--rescore") == 0
        assert server.chat_count == 3  # all three samples come back from the cache
    (data,) = scorings(tmp_path).values()
    # mean of 4, 4, 1 = 3.0 -> 3; agreement: no judgement equals 3
    assert data["result"]["solution_correctness_score"] == 3
    assert data["result"]["vote"]["agreement"] == 0.0
    assert data["result"]["vote"]["binary_agreement"] == pytest.approx(1 / 3, abs=1e-4)


def test_internvl_discovers_the_model_and_flat_layout(tmp_path: Path) -> None:
    make_experiment(tmp_path, layout="flat", n_tasks=1)
    with FakeOpenAIServer(model_id="OpenGVLab/InternVL3-8B") as server:
        rc = run_cli_internvl(server, tmp_path)
        assert rc == 0
        assert {r.body["model"] for r in server.chat_requests} == {"OpenGVLab/InternVL3-8B"}
        assert any(r.path.endswith("/v1/models") for r in server.requests)
    data = scorings(tmp_path, "internvl-eval", "InternVLScorer.json")
    assert len(data) == 4
    assert all(
        d["metadata"]["judge_model"] == "OpenGVLab/InternVL3-8B" and d["metadata"]["run_id"] is None
        for d in data.values()
    )


def run_cli_internvl(server, data_dir: Path) -> int:
    from mmscore.cli.main import main

    return main(
        ["score", "internvl", "--base-url", server.base_url, "--data-dir", str(data_dir), "--backoff", "0.01"]
    )


def test_gpt4o_needs_key_and_sends_json_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from mmscore.cli.main import main

    make_experiment(tmp_path, models=("m",), task_types=("chess_task",), n_tasks=1)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert main(["score", "gpt4o", "--data-dir", str(tmp_path)]) == 2
    assert "OPENAI_API_KEY" in capsys.readouterr().err
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with FakeOpenAIServer(api_key="sk-test") as server:
        assert main(["score", "gpt4o", "--data-dir", str(tmp_path), "--base-url", server.base_url]) == 0
        (request,) = server.chat_requests
    assert request.body["model"] == "gpt-4o" and request.body["response_format"] == {"type": "json_object"}
    assert request.headers["Authorization"] == "Bearer sk-test"
    data = scorings(tmp_path, "gpt4o-eval", "GPT4OScorer.json")
    assert [d["metadata"]["scorer"] for d in data.values()] == ["GPT4OScorer"]
    assert (tmp_path / "scorings/gpt4o-eval/pilot_experiment/GPT4OScorer_all_models.json").is_file()


def test_bad_video_fails_with_the_file_named(tmp_path: Path) -> None:
    make_experiment(
        tmp_path, models=("m",), task_types=("chess_task",), n_tasks=2, corrupt_videos={"chess_0001"}
    )
    with FakeOpenAIServer() as server:
        assert run_cli(server, tmp_path, "--strict") == 1
        assert server.chat_count == 1
    data = scorings(tmp_path)
    bad = data[("m", "chess_task", "chess_0001")]["result"]
    assert bad["status"] == "failed" and bad["error_type"] == "MediaError"
    assert ".mp4" in bad["reason"]


def test_output_dir_env_and_iter_scorings_reads_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_experiment(tmp_path / "data", models=("m",), task_types=("maze_task",), n_tasks=2)
    monkeypatch.setenv("VMEVAL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VMEVAL_OUTPUT_DIR", str(tmp_path / "out"))
    from mmscore.cli.main import main

    with FakeOpenAIServer(responder=lambda r: 2 if "maze_0000" in r.text else 5) as server:
        assert main(["score", "openai-compatible", "--base-url", server.base_url, "--model", "x"]) == 0
    got = {s.task_id: s.score for s in iter_scorings(tmp_path / "out" / "openai-compatible-eval")}
    assert got == {"maze_0000": 2, "maze_0001": 5}
    shutil.rmtree(tmp_path / "out")


def test_a_damaged_scoring_file_is_scored_again(tmp_path: Path) -> None:
    make_experiment(tmp_path, models=("m",), task_types=("chess_task",), n_tasks=2)
    with FakeOpenAIServer(responder=lambda r: 5) as server:
        assert run_cli(server, tmp_path, "--no-cache") == 0
        path = next((tmp_path / "scorings").rglob("chess_0001/OpenAICompatibleScorer.json"))
        path.write_text('{"metadata": {"scorer": "OpenAICompatibleScorer"}, "result": {"solution_corr')
        server.reset_counts()
        assert run_cli(server, tmp_path, "--no-cache") == 0
        assert server.chat_count == 1
    assert json.loads(path.read_text())["result"]["solution_correctness_score"] == 5
    assert not (tmp_path / "scorings" / "openai-compatible-eval" / "judge-cache.sqlite").exists()


def test_images_and_request_payloads_are_encoded_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PNG-encoding a real video frame takes tens of milliseconds and a request body is megabytes
    of JSON: done on the event loop (as before the fix) they stall every request in flight, and 16
    concurrent requests were barely faster than one at a time with 640x480 frames. Neither the
    image encoding nor the request's canonical JSON + sha256 (its cache key) may run on the loop's
    thread."""
    import threading

    import mmscore.models.judge as judge
    from mmscore.vmeval import make_vlm_scorer, run_scoring

    make_experiment(tmp_path, models=("m",), task_types=("chess_task",), n_tasks=3)
    threads: dict[str, set[int]] = {"data_url": set(), "request_key": set()}
    for name in threads:
        original = getattr(judge, name)

        def spy(*args, _original=original, _name=name, **kwargs):
            threads[_name].add(threading.get_ident())
            return _original(*args, **kwargs)

        monkeypatch.setattr(judge, name, spy)
    loop_thread: set[int] = set()

    with FakeOpenAIServer(responder=lambda request: 4) as server:
        scorer = make_vlm_scorer(
            "openai-compatible", base_url=server.base_url, model="judge", concurrency=2,
            cache=tmp_path / "cache.sqlite",
        )
        original_setup = scorer.setup

        async def setup() -> None:
            loop_thread.add(threading.get_ident())
            await original_setup()

        scorer.setup = setup  # type: ignore[method-assign]
        summary = run_scoring(scorer, "pilot_experiment", data_dir=tmp_path, output_dir=tmp_path / "out")
    assert summary.completed == 3
    # 3 images per request (input, expected final frame, generated frame), one request per task
    assert all(threads[name] for name in threads), threads
    assert loop_thread and not any(loop_thread & ids for ids in threads.values()), (loop_thread, threads)
