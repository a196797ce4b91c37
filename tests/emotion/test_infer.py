"""`mmscore emotion infer` against the fake OpenAI-compatible server (real HTTP on 127.0.0.1).

Videos paint frame k with a colour encoding k, so the test reads back which frames arrived. Expected
prompt texts are written out here from the originals (emotion_inference.md quotes), not built by the code.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from PIL import Image

from mmscore.cli.main import main
from mmscore.testing.fake_openai import FakeOpenAIServer, FakeRequest, Reply
from mmscore.testing.media import make_index_video, read_index_color

FRAMES = {"s0": 12, "s1": 5, "s2": 30}
TRANSCRIPTS = {"s0": "Oh no, my phone and wallet are all in my bag.", "s1": "I am, fine", "s2": "What"}
GOLD = ('video_name, emotion_label, transcription\n'
        's0.mp4, happy, "Oh no, my phone and wallet are all in my bag."\n'
        's1, sad, "I am, fine"\n'
        's2, angry, What\n')
MER2024_FULL = ("<s>[INST] <video><VideoHere></video> <feature><FeatureHere></feature> The person in video says: "
                "Oh no, my phone and wallet are all in my bag..  [emotion] Please determine which emotion label in the "
                "video represents: happy, sad, neutral, angry, worried, surprise.  [/INST]")
EMER_QUESTIONS = [
    "Please analyze all the clues in the video and reason out the emotional label of the person in the video.",
    "What is the emotional state of the person in the video? Please tell me the reason.",
    "What are the facial expressions and vocal tone used in the video? What is the intended meaning behind his "
    "words? Which emotion does this reflect?",
    "Please integrate information from various modalities to infer the emotional category of the person in the video.",
    "Could you describe the emotion-related features of the individual in the video? What emotional category do "
    "they fall into?",
]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("infer")
    for name, n in FRAMES.items():
        make_index_video(folder / "videos" / f"{name}.mp4", n)
    (folder / "gold.csv").write_text(GOLD, encoding="utf-8")
    return folder


def transcript_of(request: FakeRequest) -> str:
    return next(t for t in TRANSCRIPTS.values() if t in request.text)


def key_of(request: FakeRequest) -> str:
    return next(k for k, t in TRANSCRIPTS.items() if t in request.text)


def answer(request: FakeRequest) -> str:
    return {"s0": "happy", "s1": "The emotion is sad.", "s2": " angry\n"}[key_of(request)]


def infer(data: Path, server: FakeOpenAIServer, out: Path, *extra: str) -> int:
    return main(["-q", "emotion", "infer", "--gold", str(data / "gold.csv"), "--videos", str(data / "videos"),
                 "--base-url", server.base_url, "--output", str(out), "--backoff", "0.01", *extra])


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def frame_indices(request: FakeRequest, mime: str = "image/png") -> list[int]:
    found = []
    for part in request.parts:
        if part["type"] == "image_url":
            head, data = part["image_url"]["url"].split(",", 1)
            assert head == f"data:{mime};base64"
            data = base64.b64decode(data)
            found.append(read_index_color(np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))))
    return found


def texts(request: FakeRequest) -> list[str]:
    return [p["text"] for p in request.parts if p["type"] == "text"]


def test_mer2024_request_text_frames_body_and_verbatim_answers(data, tmp_path):
    out = tmp_path / "preds.csv"
    with FakeOpenAIServer(responder=answer, model_id="vlm-a") as server:
        assert infer(data, server, out, "--preset", "mer2024", "--model", "vlm-a") == 0
        requests = server.chat_requests
    assert len(requests) == 3
    by_key = {key_of(r): r for r in requests}
    # the wrapper and the feature placeholders are not sent; images stand where <VideoHere> stood
    expected = MER2024_FULL.removeprefix("<s>[INST] <video><VideoHere></video> <feature><FeatureHere></feature> ")
    expected = expected.removesuffix(" [/INST]")
    assert by_key["s0"].parts[0]["type"] == "image_url"
    assert texts(by_key["s0"]) == [expected]
    assert texts(by_key["s1"]) == [expected.replace(TRANSCRIPTS["s0"], "I am, fine")]
    for request in requests:
        assert frame_indices(request) == [0]
        body = request.body
        assert body["model"] == "vlm-a" and body["temperature"] == 0 and body["max_tokens"] == 500
        assert [m["role"] for m in body["messages"]] == ["user"]
    rows = read_rows(out)
    assert [r["video_name"] for r in rows] == ["s0", "s1", "s2"]
    assert [r["prediction"] for r in rows] == ["happy", "The emotion is sad.", " angry\n"]
    assert {r["status"] for r in rows} == {"ok"} and {r["prompt_id"] for r in rows} == {"emotion_llama_mer2024_v1"}
    sidecar = json.loads((tmp_path / "preds.infer.json").read_text())
    prompt_file = Path(__file__).parents[2] / "src/mmscore/prompts/emotion_llama_mer2024_v1.yaml"
    assert sidecar["prompt"]["sha256"] == hashlib.sha256(prompt_file.read_bytes()).hexdigest()
    assert sidecar["server"]["models"] == ["vlm-a"] and sidecar["model"] == "vlm-a"
    assert sidecar["frames"]["indices"] == {"s0": [0], "s1": [0], "s2": [0]}


def test_mer2023_nine_labels_dfew_ours_without_transcript(data, tmp_path):
    with FakeOpenAIServer(responder=lambda r: "happy", model_id="m") as server:
        assert infer(data, server, tmp_path / "a.csv", "--preset", "mer2023") == 0
        mer2023 = {key_of(r): texts(r) for r in server.chat_requests}
        server.reset_counts()
        gold = tmp_path / "dfew.csv"
        gold.write_text("video_name,label\ns0,happy\ns1,disgust\n", encoding="utf-8")
        assert main(["-q", "emotion", "infer", "--gold", str(gold), "--videos", str(data / "videos"), "--preset",
                     "dfew", "--base-url", server.base_url, "-o", str(tmp_path / "d.csv"), "--no-cache"]) == 0
        dfew = [texts(r) for r in server.chat_requests]
    assert mer2023["s2"] == ["The person in video says: What.  [emotion] Please determine which emotion label in the "
                             "video represents: happy, sad, neutral, angry, worried, surprise, fear, contempt, doubt. "]
    assert dfew == [["[emotion] Please determine which emotion label in the video represents: happy, sad, neutral, "
                     "angry, surprise, disgust, fear. "]] * 2


def test_emer_question_per_row_from_seed_and_recorded(data, tmp_path):
    out = tmp_path / "emer.csv"
    with FakeOpenAIServer(responder=lambda r: "He looks happy because he smiles.", model_id="m") as server:
        assert infer(data, server, out, "--preset", "emer", "--seed", "7") == 0
        sent = {key_of(r): texts(r)[0] for r in server.chat_requests}
    rows = {r["video_name"]: r for r in read_rows(out)}
    for key, transcript in TRANSCRIPTS.items():
        number = int(hashlib.sha256(f"7:{key}".encode()).hexdigest(), 16) % 5  # the documented rule
        assert int(rows[key]["question"]) == number + 1
        assert sent[key] == f"The person in video says: {transcript}.  [reason] {EMER_QUESTIONS[number]} "


def test_mer2025_ov_uniform_frames_and_original_sampling(data, tmp_path):
    with FakeOpenAIServer(responder=lambda r: "happy, excited", model_id="m") as server:
        assert infer(data, server, tmp_path / "ov.csv", "--preset", "mer2025-ov", "--sampling", "original") == 0
        requests = {key_of(r): r for r in server.chat_requests}
    for key, n in FRAMES.items():
        # AffectGPT: np.arange(0, vlen, vlen / min(8, vlen)).astype(int), last index repeated up to 8
        picks = np.arange(0, n, n / min(8, n)).astype(int).tolist()
        picks += [picks[-1]] * (8 - len(picks))
        request = requests[key]
        assert frame_indices(request) == picks
        assert [p["type"] for p in request.parts] == ["text"] + ["image_url"] * 8 + ["text"]
        assert texts(request) == [
            "we uniformly sample raw frames from the video: ",
            f". The subtitle of this video is: <Subtitle>{TRANSCRIPTS[key]}</Subtitle>. Now, please answer my "
            "question based on all the provided information. Please recognize all possible emotional states of the "
            "character."]
        assert (request.body["temperature"], request.body["top_p"], request.body["max_tokens"]) == (1.0, 0.9, 1200)
    rows = read_rows(tmp_path / "ov.csv")
    assert rows[1]["frame_idx"] == "0;1;2;3;4;4;4;4" and rows[1]["n_frames"] == "8"


def test_fml_frames_video_part_and_audio_url(data, tmp_path):
    (data / "videos" / "s1.wav").write_bytes(b"RIFF-fake-wav")
    try:
        with FakeOpenAIServer(responder=lambda r: "sad", model_id="m") as server:
            assert infer(data, server, tmp_path / "f.csv", "--preset", "mer2024", "--frames", "fml") == 0
            fml = {key_of(r): frame_indices(r) for r in server.chat_requests}
            server.reset_counts()
            assert infer(data, server, tmp_path / "v.csv", "--preset", "mer2024", "--frames", "video",
                         "--audio", "audio_url") == 0
            video = {key_of(r): r for r in server.chat_requests}
    finally:
        (data / "videos" / "s1.wav").unlink()
    assert fml == {k: [0, n // 2, n - 1] for k, n in FRAMES.items()}
    with FakeOpenAIServer(responder=lambda r: "sad", model_id="m") as server:
        assert infer(data, server, tmp_path / "j.csv", "--preset", "mer2025-ov", "--image-format", "jpeg") == 0
        jpeg = {key_of(r): frame_indices(r, "image/jpeg") for r in server.chat_requests}
    assert jpeg["s2"] == np.arange(0, 30, 30 / 8).astype(int).tolist()
    parts = video["s1"].parts
    assert [p["type"] for p in parts] == ["video_url", "audio_url", "text"]
    sent_video = base64.b64decode(parts[0]["video_url"]["url"].removeprefix("data:video/mp4;base64,"))
    assert sent_video == (data / "videos" / "s1.mp4").read_bytes()
    assert parts[1]["audio_url"]["url"] == "data:audio/wav;base64," + base64.b64encode(b"RIFF-fake-wav").decode()


def test_missing_transcript_is_an_error_unless_told(data, tmp_path, capsys):
    gold = tmp_path / "gold.csv"
    gold.write_text("video_name,label,transcription\ns0,happy,\ns1,sad,hi\n", encoding="utf-8")
    args = ["-q", "emotion", "infer", "--gold", str(gold), "--videos", str(data / "videos"), "--preset", "mer2023"]
    with FakeOpenAIServer(responder=lambda r: "happy", model_id="m") as server:
        assert main([*args, "--base-url", server.base_url, "-o", str(tmp_path / "p.csv")]) == 2
        assert "s0 (row 1 (line 2))" in capsys.readouterr().err and server.chat_count == 0
        assert not (tmp_path / "p.csv").exists()
        assert main([*args, "--base-url", server.base_url, "-o", str(tmp_path / "p.csv"),
                     "--missing-transcript", "nan"]) == 0
        sent = sorted(texts(r)[0] for r in server.chat_requests)
    assert sent[0].startswith("The person in video says: hi.  [emotion]")
    assert sent[1].startswith("The person in video says: nan.  [emotion]")


def test_faults_retried_and_a_failing_row_recorded(data, tmp_path):
    def responder(request: FakeRequest):
        return Reply.error(500) if key_of(request) == "s1" else "happy"

    script = [Reply.rate_limited(retry_after=0.3), Reply.error(503), Reply.hang(3.0), Reply.malformed_body()]
    out = tmp_path / "p.csv"
    with FakeOpenAIServer(responder=responder, script=script, model_id="m") as server:
        code = infer(data, server, out, "--preset", "mer2024", "--concurrency", "1", "--timeout", "0.5",
                     "--retries", "5")
        requests = server.chat_requests
        assert not server._queue  # every scripted fault was served
    assert code == 0
    rows = {r["video_name"]: r for r in read_rows(out)}
    assert rows["s0"]["status"] == rows["s2"]["status"] == "ok"
    assert rows["s0"]["prediction"] == "happy"
    assert rows["s1"]["status"] == "error" and rows["s1"]["prediction"] == ""
    assert "gave up after 6 attempts" in rows["s1"]["error"] and "HTTP 500" in rows["s1"]["error"]
    first = key_of(requests[0])  # the row that got the 429 asks again only after Retry-After
    again = next(r for r in requests[1:] if key_of(r) == first)
    assert again.received - requests[0].received >= 0.3
    assert sum(key_of(r) == "s1" for r in requests) == 6  # first try + 5 retries, then recorded as failed
    assert 2 <= len(requests) - 6 <= 2 + 4  # the good rows: one answer each plus the faults they met
    with FakeOpenAIServer(responder=responder, model_id="m") as server:
        assert infer(data, server, out, "--preset", "mer2024", "--strict", "--retries", "0") == 1
        assert server.chat_count == 1  # only the failed row is asked again


def test_dry_run_prints_the_request_without_sending(data, tmp_path, capsys):
    with FakeOpenAIServer(model_id="m") as server:
        assert infer(data, server, tmp_path / "p.csv", "--preset", "mer2024", "--model", "m", "--dry-run",
                     "--cache", str(tmp_path / "c.sqlite")) == 0
        assert server.chat_count == 0
    body = json.loads(capsys.readouterr().out)
    assert body["model"] == "m" and body["temperature"] == 0 and body["max_tokens"] == 500
    image = body["messages"][0]["content"][0]["image_url"]["url"]
    assert image.startswith("data:image/png;base64,<") and image.endswith("base64 characters elided>")
    assert list(tmp_path.iterdir()) == []  # nothing written, not even the cache


def test_api_key_never_written_or_printed(data, tmp_path, capfd):
    secret = "sk-test-DO-NOT-LEAK-1234567890"
    os.environ["MMSCORE_TEST_KEY"] = secret
    try:
        with FakeOpenAIServer(responder=lambda r: "happy", model_id="m", api_key=secret) as server:
            assert infer(data, server, tmp_path / "p.csv", "--preset", "mer2024", "--api-key-env",
                         "MMSCORE_TEST_KEY", "--score") == 0
            assert server.chat_requests[0].headers["Authorization"] == f"Bearer {secret}"
            assert main(["emotion", "infer", "--gold", str(data / "gold.csv"), "--videos", str(data / "videos"),
                         "--base-url", server.base_url, "-o", str(tmp_path / "p.csv"), "--preset", "mer2024",
                         "--api-key-env", "MMSCORE_TEST_KEY", "--dry-run"]) == 0
    finally:
        del os.environ["MMSCORE_TEST_KEY"]
    captured = capfd.readouterr()
    assert secret not in captured.out + captured.err
    for path in tmp_path.iterdir():
        assert secret.encode() not in path.read_bytes(), path


def test_classify_reads_the_file_as_is(data, tmp_path):
    from sklearn.metrics import f1_score

    from mmscore.emotion.classify import evaluate_classification

    out = tmp_path / "p.csv"
    with FakeOpenAIServer(responder=answer, model_id="m") as server:
        assert infer(data, server, out, "--preset", "mer2023") == 0
    result = evaluate_classification(data / "gold.csv", out, preset="mer2023", compat="emotion-llama")
    # Emotion-LLaMA: the decoded answer stripped, its last space-separated token, exact match, else neutral
    answers = [a.strip() for a in ["happy", "The emotion is sad.", " angry\n"]]
    labels = ["neutral", "angry", "happy", "sad", "worried", "surprise"]
    mapped = [a.split(" ")[-1] if a.split(" ")[-1] in labels else "neutral" for a in answers]
    expected = f1_score(["happy", "sad", "angry"], mapped, average="weighted", labels=labels, zero_division=0)
    assert result.summary["weighted_f1"] == pytest.approx(expected, abs=1e-9)


def _stored_replies(path: Path) -> tuple[int, int]:
    """(server replies, answered-row records) in the response cache."""
    with sqlite3.connect(path) as conn:
        keys = [k for (k,) in conn.execute("SELECT key FROM replies")]
    return sum(not k.startswith("row:") for k in keys), sum(k.startswith("row:") for k in keys)


def test_kill_9_then_rerun_asks_only_the_rest_and_matches(tmp_path):
    for i in range(12):
        make_index_video(tmp_path / "videos" / f"v{i:02d}.mp4", 3 + i)
    lines = ["video_name,emotion_label,transcription"] + [f"v{i:02d},happy,line {i}" for i in range(12)]
    (tmp_path / "gold.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def reply(request: FakeRequest) -> str:
        return f"answer for {request.text.split('says: ')[1].split('.')[0]}"

    out, whole = tmp_path / "killed.csv", tmp_path / "whole.csv"
    base = [sys.executable, "-m", "mmscore.cli.main", "-q", "emotion", "infer", "--gold", str(tmp_path / "gold.csv"),
            "--videos", str(tmp_path / "videos"), "--preset", "mer2023", "--concurrency", "2"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    with FakeOpenAIServer(responder=reply, latency=0.25, model_id="m") as server:
        proc = subprocess.Popen([*base, "--base-url", server.base_url, "-o", str(out)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while server.chat_count < 6 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert not out.exists()  # nothing half-written
        stored, rows_done = _stored_replies(tmp_path / "killed.infer-cache.sqlite")
        assert 0 < stored < 12 and rows_done in (stored, stored - 1)  # killed between the two writes at worst
        server.reset_counts()
        assert main(["-q", *base[3:], "--base-url", server.base_url, "-o", str(out)]) == 0
        assert server.chat_count == 12 - stored
        assert main(["-q", *base[3:], "--base-url", server.base_url, "-o", str(whole), "--no-cache"]) == 0
    assert out.read_bytes() == whole.read_bytes()
    assert [r["prediction"] for r in read_rows(out)] == [f"answer for line {i}" for i in range(12)]


def test_changed_setting_asks_again(data, tmp_path):
    out = tmp_path / "p.csv"
    with FakeOpenAIServer(responder=lambda r: "happy", model_id="m") as server:
        assert infer(data, server, out, "--preset", "mer2024") == 0
        assert infer(data, server, out, "--preset", "mer2024") == 0
        assert server.chat_count == 3  # the rerun came from the cache, without decoding a frame:
        with mock.patch("mmscore.emotion.infer.runner.build_request", side_effect=AssertionError("decoded")):
            assert infer(data, server, out, "--preset", "mer2024") == 0
        assert server.chat_count == 3
        sidecar = json.loads((tmp_path / "p.infer.json").read_text())
        assert sidecar["usage"]["cache_hits"] == 3 and sidecar["usage"]["requests"] == 0
        assert infer(data, server, out, "--preset", "mer2024", "--max-tokens", "64") == 0
        assert server.chat_count == 6
        assert infer(data, server, out, "--preset", "mer2024", "--frames", "uniform:2") == 0
        assert server.chat_count == 9


def test_demo_part_infers_then_scores(tmp_path):
    from rich.console import Console
    from sklearn.metrics import f1_score

    from mmscore.demo import DemoContext
    from mmscore.demo.parts import emotion_infer

    lines = emotion_infer.run(DemoContext(workspace=tmp_path, console=Console(file=io.StringIO())))
    gold = [label for _, _, label, _ in emotion_infer.CLIPS]
    said = [emotion_infer.COLOR_EMOTION[colour] for _, colour, _, _ in emotion_infer.CLIPS]
    rows = read_rows(tmp_path / "emotion_infer" / "predictions.csv")
    assert [r["prediction"] for r in rows] == [f"The emotion is {label}." for label in said]
    expected = f1_score(gold, said, average="weighted",
                        labels=["neutral", "angry", "happy", "sad", "worried", "surprise"], zero_division=0)
    assert any(f"weighted F1 {expected:.4f}" in line for line in lines)
    assert any("run 2 (resume): 0 requests" in line for line in lines)


def test_frame_positions_follow_the_originals_rules():
    from mmscore.emotion.infer.frames import parse_frames

    uniform, first, fml = parse_frames("uniform:8"), parse_frames("first"), parse_frames("fml")
    for n in range(1, 60):
        picks = np.arange(0, n, n / min(8, n)).astype(int).tolist()  # AffectGPT video_processor
        assert uniform.positions(n) == picks + [picks[-1]] * (8 - len(picks)), n
        assert first.positions(n) == [0] and fml.positions(n) == [0, n // 2, n - 1]


def _video_with_tone(path: Path, seconds: float = 1.0, rate: int = 8000, hz: float = 440.0) -> Path:
    import av

    from mmscore.testing.media import index_color

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("pcm_s16le", rate=rate)
        audio.layout = "mono"
        tone = (0.5 * 32767 * np.sin(2 * np.pi * hz * np.arange(int(seconds * rate)) / rate)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(tone.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts = rate, 0
        packets = [*audio.encode(frame), *audio.encode()]
        for k in range(int(seconds * 10)):
            picture = np.broadcast_to(np.array(index_color(k), np.uint8), (48, 64, 3)).copy()
            packets += video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24"))
        for packet in [*packets, *video.encode()]:
            container.mux(packet)
    return path


def test_input_audio_is_the_video_track_as_16k_wav(tmp_path):
    import wave

    _video_with_tone(tmp_path / "videos" / "a0.mkv")
    (tmp_path / "gold.csv").write_text("name,label,transcription\na0,happy,Listen.\n", encoding="utf-8")
    with FakeOpenAIServer(responder=lambda r: "happy", model_id="m") as server:
        assert main(["-q", "emotion", "infer", "--gold", str(tmp_path / "gold.csv"), "--videos",
                     str(tmp_path / "videos"), "--preset", "mer2023", "--audio", "input_audio", "--base-url",
                     server.base_url, "-o", str(tmp_path / "p.csv")]) == 0
        parts = server.chat_requests[0].parts
    assert [p["type"] for p in parts] == ["image_url", "input_audio", "text"]
    assert parts[1]["input_audio"]["format"] == "wav"
    with wave.open(io.BytesIO(base64.b64decode(parts[1]["input_audio"]["data"]))) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)
    assert abs(len(samples) - 16000) <= 400  # one second of audio
    spectrum = np.abs(np.fft.rfft(samples))
    assert np.fft.rfftfreq(len(samples), 1 / 16000)[spectrum.argmax()] == pytest.approx(440, abs=2)


def test_custom_prompt_file_and_config_errors(data, tmp_path, capsys):
    prompt = tmp_path / "mine.yaml"
    prompt.write_text('name: mine\nversion: 3\noriginal: "<frames>Transcript: {transcript}\\nLabel?"\n'
                      'media:\n  "<frames>": frames\n', encoding="utf-8")
    with FakeOpenAIServer(responder=lambda r: "happy", model_id="m") as server:
        assert infer(data, server, tmp_path / "p.csv", "--preset", "custom", "--prompt", str(prompt)) == 0
        request = next(r for r in server.chat_requests if "What" in r.text)
        assert texts(request) == ["Transcript: What\nLabel?"] and request.parts[0]["type"] == "image_url"
        assert read_rows(tmp_path / "p.csv")[0]["prompt_id"] == "mine_v3"
        assert infer(data, server, tmp_path / "q.csv", "--preset", "custom") == 2
        assert "needs --prompt FILE" in capsys.readouterr().err
        assert infer(data, server, tmp_path / "q.csv", "--preset", "mer2023", "--audio", "in-video") == 2
        assert "needs --frames video" in capsys.readouterr().err
        assert infer(data, server, data / "gold.csv", "--preset", "mer2023") == 2
        assert infer(data, server, tmp_path / "q.csv", "--preset", "mer2025-desc", "--score") == 2
        assert "no metric" in capsys.readouterr().err
        assert server.chat_count == 3


def test_missing_video_is_a_failed_row_and_budget_stops_with_exit_3(data, tmp_path):
    gold = tmp_path / "gold.csv"
    gold.write_text('video_name,label,transcription\ns0,happy,"a"\nnope,sad,"b"\ns2,angry,"c"\n', encoding="utf-8")
    prices = tmp_path / "prices.json"
    prices.write_text('{"m": {"input": 1000, "output": 0}}', encoding="utf-8")  # $1 per request of 1000 tokens
    args = ["-q", "emotion", "infer", "--gold", str(gold), "--videos", str(data / "videos"), "--preset", "mer2023",
            "--concurrency", "1"]
    with FakeOpenAIServer(responder=lambda r: "happy", model_id="m") as server:
        assert main([*args, "--base-url", server.base_url, "-o", str(tmp_path / "p.csv")]) == 0
        rows = read_rows(tmp_path / "p.csv")
        assert [r["status"] for r in rows] == ["ok", "error", "ok"]
        assert "no video for 'nope'" in rows[1]["error"]
        assert main([*args, "--base-url", server.base_url, "-o", str(tmp_path / "b.csv"), "--no-cache",
                     "--prices", str(prices), "--max-cost", "0.5"]) == 3
    statuses = [r["status"] for r in read_rows(tmp_path / "b.csv")]
    assert statuses.count("ok") == 1 and statuses.count("not_started") == 1  # the third row has no video


def test_score_chains_ov_and_emer_metrics(data, tmp_path):
    ov_gold = tmp_path / "ov_gold.csv"
    ov_gold.write_text('name,openset,transcription\ns0,"[\'happy\', \'excited\']",hi\n', encoding="utf-8")
    emer_gold = tmp_path / "emer_gold.csv"
    emer_gold.write_text("names,reasons,subtitles\ns0,He smiles and is happy.,hi\n", encoding="utf-8")
    with FakeOpenAIServer(responder=lambda r: "happy, calm", model_id="m") as server:
        for gold, preset in ((ov_gold, "mer2025-ov"), (emer_gold, "emer")):
            assert main(["-q", "emotion", "infer", "--gold", str(gold), "--videos", str(data / "videos"), "--preset",
                         preset, "--base-url", server.base_url, "-o", str(tmp_path / f"{preset}.csv"),
                         "--score"]) == 0
    ov = json.loads((tmp_path / "mer2025-ov.scores.json").read_text())
    assert (ov["precision"], ov["recall"]) == (0.5, 0.5)  # {happy, calm} vs {happy, excited}
    emer = json.loads((tmp_path / "emer.scores.json").read_text())
    assert emer["n"] == 1 and "rouge_l" in emer


def test_first_frame_is_opencvs_first_read_with_b_frames(tmp_path):
    """Emotion-LLaMA reads its one frame with cv2.VideoCapture(path).read(); with B-frames the first
    decoded picture is not the first in the file, and both must still agree on frame 0."""
    cv2 = pytest.importorskip("cv2")
    import av

    from mmscore.emotion.infer.frames import parse_frames, sample_row_frames
    from mmscore.testing.media import moving_square_frames

    noise = np.random.default_rng(0)
    frames = [np.clip(f.astype(int) + noise.integers(-30, 30, f.shape), 0, 255).astype(np.uint8)
              for f in moving_square_frames(30, 64, 48, "red")]
    path = tmp_path / "bframes.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"preset": "medium", "bf": "3"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with av.open(str(path)) as container:
        packets = [(p.pts, p.dts) for p in container.demux(container.streams.video[0]) if p.size]
    assert any(pts != dts for pts, dts in packets[1:])  # reordered: there are B-frames
    capture = cv2.VideoCapture(str(path))
    ok, bgr = capture.read()
    capture.release()
    ours = sample_row_frames(parse_frames("first"), path)
    assert ok and ours.positions == [0]
    assert np.array_equal(bgr[:, :, ::-1], ours.frames[0])


def test_emotion_llama_list_with_transcripts_csv(data, tmp_path, capsys):
    gold = tmp_path / "relative_test3_NCEV.txt"
    gold.write_text("s0 12 happy -10\ns2 30 angry -10\ns1 5 sad -10\n", encoding="utf-8")
    transcripts = tmp_path / "transcription_en_all.csv"
    transcripts.write_text('name,chinese,sentence\ns0,x,"Fine."\ns2,y,No way\n', encoding="utf-8")
    args = ["-q", "emotion", "infer", "--gold", str(gold), "--videos", str(data / "videos"), "--preset", "mer2023",
            "--transcripts", str(transcripts), "--transcript-column", "sentence"]
    with FakeOpenAIServer(responder=lambda r: "happy", model_id="m") as server:
        assert main([*args, "--base-url", server.base_url, "-o", str(tmp_path / "p.csv")]) == 2
        assert "1 row(s) have no transcript: s1 (line 3)" in capsys.readouterr().err
        assert main([*args, "--base-url", server.base_url, "-o", str(tmp_path / "p.csv"),
                     "--missing-transcript", "nan"]) == 0
        sent = {texts(r)[0].split("  [emotion]")[0] for r in server.chat_requests}
    assert sent == {"The person in video says: Fine..", "The person in video says: No way.",
                    "The person in video says: nan."}
    assert [r["video_name"] for r in read_rows(tmp_path / "p.csv")] == ["s0", "s2", "s1"]  # gold order


def test_prompt_file_errors_name_the_file(tmp_path):
    from mmscore.emotion.infer.prompts import load_infer_prompt
    from mmscore.errors import ConfigError, InputError

    cases = {
        "no_original.yaml": "name: x\nversion: 1\n",
        "bad_role.yaml": 'name: x\nversion: 1\noriginal: "<v> {transcript}"\nmedia:\n  "<v>": pictures\n',
        "question_without_list.yaml": 'name: x\nversion: 1\noriginal: "{question}"\n',
        "broken.yaml": "name: [x\n",
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        with pytest.raises(InputError, match=name):
            load_infer_prompt(tmp_path / name)
    with pytest.raises(ConfigError, match="emotion_llama_mer2023_v1"):  # the error lists the shipped ones
        load_infer_prompt("no_such_prompt")


def test_unreachable_server_is_one_error_before_any_row(data, tmp_path, capsys):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = main(["-q", "emotion", "infer", "--gold", str(data / "gold.csv"), "--videos", str(data / "videos"),
                 "--preset", "mer2024", "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "m", "--retries", "0",
                 "-o", str(tmp_path / "p.csv")])
    assert code == 2 and "cannot reach the server" in capsys.readouterr().err
    assert not (tmp_path / "p.csv").exists()


def test_in_video_audio_asks_vllm_for_the_video_track(data, tmp_path):
    with FakeOpenAIServer(responder=lambda r: "sad", model_id="m") as server:
        assert infer(data, server, tmp_path / "p.csv", "--preset", "mer2024", "--frames", "video",
                     "--audio", "in-video") == 0
        request = server.chat_requests[0]
    assert [p["type"] for p in request.parts] == ["video_url", "text"]
    assert request.body["mm_processor_kwargs"] == {"use_audio_in_video": True}
    rows = read_rows(tmp_path / "p.csv")
    assert {(r["n_frames"], r["frame_idx"]) for r in rows} == {("", "")}  # the server chose the frames
