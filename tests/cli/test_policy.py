"""The one CLI vocabulary (issue 20 items 3-5): exit policy per command family, old flag names as
hidden aliases, global flags after the sub-command, ``--json``, output format by extension,
no-effect option combinations rejected, registry suggestions, one judge configuration."""

from __future__ import annotations

import errno
import json
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from mmscore.cli.main import main, plain_error
from mmscore.io.tables import read_table, write_table
from mmscore.testing.experiments import make_experiment
from mmscore.testing.fake_openai import FakeOpenAIServer, Reply

EMOTION = Path(str(resources.files("mmscore.examples").joinpath("emotion")))


def _json_stdout(capsys: pytest.CaptureFixture[str]) -> dict:
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out  # --json: exactly one line, nothing else on stdout
    return json.loads(out[0])


# --------------------------------------------------------------------------- exit policy
def test_image_text_exit_policy(tmp_path: Path, tiny_clip_hf_dir: Path, sample_images, capsys) -> None:
    """0 when every row scored; 1 when nothing could be scored (output still written); --strict 1."""
    good = write_table(pd.DataFrame({"image_path": [str(sample_images["red"])], "text": ["red"]}),
                       tmp_path / "good.jsonl")
    bad = write_table(pd.DataFrame({"image_path": ["nope.png", "gone.png"], "text": ["a", "b"]}),
                      tmp_path / "bad.jsonl")
    mixed = write_table(pd.DataFrame({"image_path": [str(sample_images["red"]), "nope.png"], "text": ["a", "b"]}),
                        tmp_path / "mixed.jsonl")
    model = ["--model", str(tiny_clip_hf_dir), "-q"]
    assert main(["clipscore", str(good), *model]) == 0
    assert main(["clipscore", str(bad), *model]) == 1
    assert "nothing could be scored: 0 of 2 rows" in capsys.readouterr().err
    assert read_table(tmp_path / "bad.clipscore.jsonl")["clip_score"].isna().all()  # written all the same
    assert main(["clipscore", str(mixed), *model]) == 0
    assert main(["clipscore", str(mixed), *model, "--strict"]) == 1
    assert "1 of 2 rows could not be scored (--strict)" in capsys.readouterr().err


def test_score_exit_policy_nothing_scored_and_budget(tmp_path: Path, capsys) -> None:
    make_experiment(tmp_path, models=("m",), task_types=("chess_task",), n_tasks=2)
    base = ["score", "openai-compatible", "--data-dir", str(tmp_path), "--model", "judge", "--retries", "0",
            "--no-cache"]
    with FakeOpenAIServer(default=Reply.error(400, "bad request")) as server:
        assert main([*base, "--base-url", server.base_url]) == 1  # every task failed: nothing scored
    assert "nothing could be scored: 0 of 2 tasks" in capsys.readouterr().err
    with FakeOpenAIServer(default=Reply.score(4)) as server:
        # $0.0001 is spent by the first request (gpt-4o prices): the run stops, exit 3
        rc = main([*base, "--base-url", server.base_url, "--model", "gpt-4o", "--max-cost", "0.0001",
                   "--concurrency", "1"])
    assert rc == 3


def test_emotion_exit_policy(tmp_path: Path, capsys) -> None:
    gold = write_table(pd.DataFrame({"video_name": ["a", "b"], "emotion_label": ["happy", "sad"]}),
                       tmp_path / "gold.csv")
    unmatched = write_table(pd.DataFrame({"video_name": ["x", "y"], "prediction": ["happy", "sad"]}),
                            tmp_path / "pred.csv")
    out = tmp_path / "res.json"
    assert main(["emotion", "classify", "--gold", str(gold), "--pred", str(unmatched), "-o", str(out)]) == 1
    assert "no prediction in" in capsys.readouterr().err  # nothing matched: exit 1, not an input error's 2
    assert main(["emotion", "classify", "--gold", str(gold), "--pred", str(gold)]) == 0


def test_analyze_stats_without_pairs_exits_1(tmp_path: Path, capsys) -> None:
    from mmscore.io.experiment import scoring_dir, write_scoring

    def write(root: Path, scorer: str, task_id: str, score: int = 4) -> None:
        meta = {"scorer": scorer, "experiment": "exp", "model_name": "m", "task_type": "chess_task",
                "task_id": task_id}
        folder = scoring_dir(root, "exp", "m", "chess_task", task_id)
        write_scoring(folder / f"{scorer}.json", meta, {"solution_correctness_score": score, "status": "completed"})

    a, b = tmp_path / "judge-eval", tmp_path / "human-eval"
    write(a, "judge-eval", "c0")
    write(b, "human-eval", "c1")  # no task scored by both
    assert main(["analyze", "stats", "--a", str(a), "--b", str(b), "-o", str(tmp_path / "out"), "--no-figures"]) == 1
    assert "no item could be paired" in capsys.readouterr().err
    assert (tmp_path / "out" / "stats.json").is_file()
    # an absurd option value: numpy's MemoryError is a usage error naming the option, not "unexpected"
    for task_id, (score_a, score_b) in {"c2": (1, 2), "c3": (5, 4), "c4": (2, 2), "c5": (3, 5)}.items():
        write(a, "judge-eval", task_id, score_a)
        write(b, "human-eval", task_id, score_b)
    argv = ["analyze", "stats", "--a", str(a), "--b", str(b), "-o", str(tmp_path / "o2"), "--no-figures"]
    assert main([*argv, "--n-boot", "1000000000000"]) == 2
    assert "out of memory: --n-boot 1000000000000 is probably too large" in capsys.readouterr().err


def test_plain_errors_are_usage_errors_exit_2(tmp_path: Path, capsys) -> None:
    """Exceptions that are the user's input or machine, not bugs, exit 2 with one line."""
    decode = UnicodeDecodeError("utf-8", b"caf\xe9", 3, 4, "invalid continuation byte")
    assert plain_error(decode).startswith("a text file is not valid utf-8")
    assert plain_error(IsADirectoryError(21, "Is a directory", "x")) == "x: is a folder; expected a file"
    assert "lacks the field 'video'" in plain_error(KeyError("video"))
    assert "port is busy" in plain_error(OSError(errno.EADDRINUSE, "Address already in use"))
    assert "out of memory" in plain_error(MemoryError())
    assert "--n-boot 1e12 is probably too large" in plain_error(MemoryError(), ["--seed", "3", "--n-boot", "1e12"])
    assert "out of memory" in plain_error(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried"))
    assert plain_error(RuntimeError("bug")) is None
    # end to end: a folder where a result file is expected
    assert main(["emotion", "table", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error:") and "unexpected" not in err and len(err.strip().splitlines()) == 1


def test_busy_port_is_exit_2(tmp_path: Path, capsys) -> None:
    import socket

    make_experiment(tmp_path, models=("m",), task_types=("chess_task",), n_tasks=1)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        rc = main(["score", "human", "--data-dir", str(tmp_path), "--output-dir", str(tmp_path / "h"),
                   "--port", str(port), "--annotator", "a"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "unexpected" not in err and "port" in err


# --------------------------------------------------------------------------- old names, global flags
def test_old_flag_names_still_work_and_clash_with_new(tmp_path: Path, capsys) -> None:
    base = ["emotion", "classify", "--gold", str(EMOTION / "gold.csv"), "--pred", str(EMOTION / "predictions.jsonl"),
            "--preset", "mer2023", "--json"]
    assert main([*base, "--gold-key-column", "video_name", "--pred-column", "answer"]) == 0
    old = _json_stdout(capsys)
    assert main([*base, "--gold-video-key", "video_name", "--pred-label-key", "answer"]) == 0
    assert _json_stdout(capsys)["weighted_f1"] == old["weighted_f1"]
    assert main([*base, "--gold-key-column", "video_name", "--gold-video-key", "video_name"]) == 2
    assert "--gold-key-column is the old name of --gold-video-key" in capsys.readouterr().err
    # the old names are hidden from --help
    assert main(["emotion", "emer", "--help"]) == 0
    help_text = capsys.readouterr().out
    assert "--base-url" in help_text and "--judge-url" not in help_text and "--gold-column" not in help_text


def test_old_engine_and_cache_names(tmp_path: Path, tiny_clip_hf_dir: Path, sample_images) -> None:
    table = write_table(pd.DataFrame({"image_path": [str(sample_images["blue"])], "text": ["blue"]}),
                        tmp_path / "t.jsonl")
    shards = tmp_path / "my-shards"
    rc = main(["-q", "specs", str(table), "--model", str(tiny_clip_hf_dir), "--engine", "local",
               "--output-dir", str(shards), "-o", str(tmp_path / "o.jsonl")])
    assert rc == 0 and any(shards.iterdir())  # --output-dir: the old name of --shard-dir


def test_global_flags_after_the_subcommand(tmp_path: Path, capsys) -> None:
    assert main(["list", "scorers", "--quiet"]) == 0
    assert "openai-compatible" in capsys.readouterr().out
    assert main(["list", "presets", "-q", "--json"]) == 0
    assert {p["name"] for p in _json_stdout(capsys)["presets"]} >= {"mer2023", "dfew", "custom"}
    with pytest.raises(Exception, match="absent.jsonl"):  # --debug re-raises: the traceback is shown
        main(["emscore", str(tmp_path / "absent.jsonl"), "--debug"])


# --------------------------------------------------------------------------- --json and formats
def test_json_output_of_a_scoring_command(tmp_path: Path, tiny_clip_hf_dir: Path, sample_images, capsys) -> None:
    table = write_table(pd.DataFrame({"image_path": [str(sample_images["red"]), str(sample_images["green"])],
                                      "text": ["red", "green"]}), tmp_path / "t.csv")
    assert main(["-q", "clipscore", str(table), "--model", str(tiny_clip_hf_dir), "--json"]) == 0
    result = _json_stdout(capsys)
    scored = read_table(tmp_path / "t.clipscore.csv")
    assert result["rows"] == 2 and result["scores"]["clip_score"]["scored"] == 2
    assert result["scores"]["clip_score"]["mean"] == pytest.approx(scored["clip_score"].mean())
    assert result["written"] == [str(tmp_path / "t.clipscore.csv")]


def test_emotion_output_format_follows_the_extension(tmp_path: Path, capsys) -> None:
    rc = main(["emotion", "ov", "--gold", str(EMOTION / "gold.csv"), "--pred", str(EMOTION / "predictions.jsonl"),
               "--save-grouping", str(tmp_path / "groups.csv")])
    assert rc == 2 and "name the file .json" in capsys.readouterr().err  # JSON is never written as .csv
    out = tmp_path / "mer.csv"
    rc = main(["emotion", "classify", "--gold", str(EMOTION / "gold.csv"), "--pred",
               str(EMOTION / "predictions.jsonl"), "--preset", "mer2023", "-o", str(out), "--no-plot"])
    assert rc == 0
    row = pd.read_csv(out)
    assert len(row) == 1 and 0 <= row["weighted_f1"][0] <= 1 and row["preset"][0] == "mer2023"


# --------------------------------------------------------------------------- no-effect combinations
@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["emscore", "x.jsonl", "--address", "auto"], "--address"),
        (["emscore", "x.jsonl", "--engine", "local", "--num-workers", "2"], "--num-workers"),
        (["emscore", "x.jsonl", "--no-idf", "--idf-corpus", "c.txt"], "--idf-corpus"),
        (["emscore", "x.jsonl", "--cache", "c", "--no-cache"], "--no-cache"),
        (["clipscore", "x.jsonl", "--shard-size", "9"], "--shard-size"),
        (["emotion", "ov", "--gold", "g.csv", "--pred", "p.csv", "--base-url", "http://h/v1"], "--base-url"),
        (["emotion", "ov", "--gold", "g.csv", "--pred", "p.csv", "--judge-model", "m"], "--judge-model"),
        (["emotion", "emer", "--gold", "g.csv", "--pred", "p.csv", "--no-judge", "--min-score", "0"], "--min-score"),
        (["emotion", "classify", "--gold", "g.csv", "--pred", "p.csv", "--no-plot"], "--no-plot"),
        (["score", "human", "--seed", "3"], "--seed"),
        (["analyze", "stats", "--a", "a", "--b", "b", "--no-figures", "--format", "pdf"], "--format"),
        (["run", "--list", "--engine", "local"], "--engine"),
        (["emscore", "x.jsonl", "--idf-corpus", "c.txt", "--idf-corpus-key", "text"], "--idf-corpus-key"),
        (["emotion", "classify", "--gold", "g.csv", "--pred", "p.csv", "--compat", "emotion-llama", "--match",
          "exact"], "--match"),
        (["emotion", "classify", "--gold", "g.csv", "--pred", "p.csv", "--preset", "dfew", "--no-valence"],
         "--no-valence"),
        (["emotion", "emer", "--gold", "g.csv", "--pred", "p.csv", "--no-text-metrics", "--lang", "zh"], "--lang"),
        (["score", "gpt4o", "--vote", "mean"], "--vote"),
    ],
)
def test_options_without_effect_are_usage_errors(argv: list[str], named: str, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert named in err and ("no effect" in err or "contradict" in err)


# --------------------------------------------------------------------------- registry
def test_registry_did_you_mean_and_lazy_targets(tmp_path: Path, capsys) -> None:
    from mmscore.errors import ConfigError
    from mmscore.registry import Registry

    reg: Registry = Registry("widget")
    reg.add("round-table", "mmscore.does_not_exist:Nothing", "a lazy target")
    assert reg.describe() == [("round-table", "a lazy target")]  # listing imports nothing
    with pytest.raises(ConfigError, match=r"unknown widget 'round_table'\. Did you mean: round-table\?"):
        reg.get("round_table")

    @reg.register()
    class Square:
        """A square widget."""

    assert reg.get("Square") is Square and ("Square", "A square widget.") in reg.describe()
    with pytest.raises(ConfigError, match="already registered"):
        reg.add("Square", "other.module:Square")

    assert main(["score", "custom", "internvI"]) == 2
    assert "Did you mean: internvl?" in capsys.readouterr().err
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("storage:\n  first_entry_file_name: in.jsonl\noperators:\n  - name: EMScoreEvaI\n")
    assert main(["run", str(pipeline)]) == 2
    assert "Did you mean: EMScoreEval?" in capsys.readouterr().err
    assert main(["list", "operators", "--json"]) == 0
    assert "EMScoreEval" in {o["name"] for o in _json_stdout(capsys)["operators"]}


def test_score_subcommands_come_from_the_scorer_registry(capsys) -> None:
    from mmscore.cli.app import group
    from mmscore.cli.main import load_commands
    from mmscore.vmeval.registry import SCORERS

    load_commands()
    judges = {c.name for c in group("score").registered_commands} - {"human", "custom"}
    assert {"gpt4o", "internvl", "openai-compatible"} <= judges <= set(SCORERS.names())
    assert main(["score", "--help"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in judges), (judges, listed)


# --------------------------------------------------------------------------- one judge configuration
def test_one_judge_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    from mmscore.emotion.llm import JudgeSettings
    from mmscore.models.judge import JudgeConfig
    from mmscore.vmeval import make_vlm_scorer

    defaults = JudgeConfig()
    assert (defaults.concurrency, defaults.timeout, defaults.connect_timeout, defaults.retries) == (8, 120.0, 10.0, 5)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    emotion = JudgeSettings(max_attempts=2, base_delay=0.5, read_timeout=30)  # the former field names
    assert (emotion.retries, emotion.backoff, emotion.timeout) == (1, 0.5, 30)
    assert (emotion.base_url, emotion.model, emotion.concurrency) == ("https://api.openai.com/v1", "gpt-4o", 8)
    config = JudgeConfig(base_url="http://127.0.0.1:9/v1", model="m", concurrency=3, retries=2, backoff=0.25)
    a = make_vlm_scorer("openai-compatible", config)
    b = make_vlm_scorer("openai-compatible", base_url="http://127.0.0.1:9/v1", model="m", concurrency=3,
                        retries=2, backoff=0.25)
    for scorer in (a, b):
        assert scorer.client.concurrency == 3 and scorer.client.retry.max_attempts == 3
        assert scorer.client.retry.base_delay == 0.25 and scorer.client.model == "m"


def test_help_texts(capsys) -> None:
    examples = {}
    for argv in (["emscore"], ["clipscore"], ["longclip"], ["specs"], ["score", "gpt4o"], ["score", "internvl"],
                 ["emotion", "emer"], ["eval", "retrieval"], ["analyze", "stats"], ["run"]):
        assert main([*argv, "--help"]) == 0
        text = capsys.readouterr().out
        assert "<bool>" not in text and "Exit codes" in text and "Examples:" in text
        examples[" ".join(argv)] = text.split("Examples:")[1].split("Exit codes")[0]
    assert len(set(examples.values())) == len(examples)  # no command copies another's examples


def test_run_exit_policy(tmp_path: Path, sample_images, capsys) -> None:
    """``mmscore run``: rows an operator could not handle count as unscored, as in every command."""
    write_table(pd.DataFrame({"image_path": [str(sample_images["red"]), str(tmp_path / "gone.png")]}),
                tmp_path / "in.jsonl")
    write_table(pd.DataFrame({"image_path": [str(tmp_path / "a.png"), str(tmp_path / "b.png")]}),
                tmp_path / "none.jsonl")
    for name, table in (("some", "in.jsonl"), ("none", "none.jsonl")):
        (tmp_path / f"{name}.yaml").write_text(
            f"storage:\n  first_entry_file_name: {table}\n  cache_path: {name}-cache\noperators:\n"
            "  - name: MediaPathChecker\n    run: {input_key: image_path}\n")
    assert main(["run", str(tmp_path / "some.yaml")]) == 0
    assert main(["run", str(tmp_path / "some.yaml"), "--strict"]) == 1
    assert "1 of 2 rows could not be scored (--strict)" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "none.yaml"), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert (result["rows"], result["failed"]) == (2, 2) and Path(result["written"][0]).is_file()


def test_score_json_and_judge_flags_rejected_for_a_non_judge_scorer(tmp_path: Path, capsys) -> None:
    make_experiment(tmp_path, models=("m",), task_types=("chess_task",), n_tasks=2)
    with FakeOpenAIServer(default=Reply.score(5)) as server:
        rc = main(["score", "openai-compatible", "--data-dir", str(tmp_path), "--base-url", server.base_url,
                   "--model", "judge", "--json"])
    assert rc == 0
    result = _json_stdout(capsys)
    assert (result["command"], result["completed"], result["failed"]) == ("score", 2, 0)
    plugin = tmp_path / "const_scorer.py"
    plugin.write_text("from mmscore.vmeval import Scorer, ScoreResult\n"
                      "class ConstScorer(Scorer):\n"
                      "    name = 'const-test'\n"
                      "    output_subdir = 'const-eval'\n"
                      "    async def score(self, task):\n"
                      "        return ScoreResult(score=3)\n")
    argv = ["score", "custom", f"{plugin}:ConstScorer", "--data-dir", str(tmp_path)]
    assert main([*argv, "--base-url", "http://127.0.0.1:9/v1"]) == 2
    assert "--base-url has no effect for" in capsys.readouterr().err
    assert main([*argv, "--concurrency", "2"]) == 0  # the one judge flag a plain scorer reads (its workers)
