"""JudgeClient against a real local HTTP server with injected faults."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from mmscore.errors import BudgetExceeded, ConfigError, JudgeHTTPError, JudgeParseError, JudgeTimeout
from mmscore.models.judge import (
    JudgeClient,
    PriceTable,
    ResponseCache,
    RetryPolicy,
    image_part,
    json_object,
    request_key,
    text_part,
)
from mmscore.testing.fake_openai import FakeOpenAIServer, Reply
from mmscore.vmeval.verdict import Verdict, parse_verdict

FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)
MESSAGES = [{"role": "system", "content": "rate it"}, {"role": "user", "content": "Task: chess_task"}]


def run(coro):
    return asyncio.run(coro)


async def _chat(server: FakeOpenAIServer, messages=MESSAGES, **kwargs):
    options = {"retry": FAST, "read_timeout": 2.0, "connect_timeout": 2.0}
    chat_kwargs = {k: kwargs.pop(k) for k in ("reask", "cache_salt") if k in kwargs}
    options.update(kwargs)
    async with JudgeClient(server.base_url, "gpt-4o", **options) as client:
        reply = await client.chat(messages, parse=parse_verdict, **chat_kwargs)
        return reply, client


def test_score_usage_and_cost() -> None:
    with FakeOpenAIServer(responder=lambda req: Reply.score(5, "perfect"), usage=(1000, 50)) as server:
        reply, client = run(_chat(server))
    assert reply.value == Verdict(5, "perfect")
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (1000, 50)
    # gpt-4o: $2.50 / 1M input, $10.00 / 1M output
    assert reply.cost_usd == pytest.approx(1000 * 2.5e-6 + 50 * 10e-6)
    assert client.usage.as_dict()["cost_usd"] == pytest.approx(0.003)
    assert reply.requests == 1 and not reply.cached and not reply.reasked
    body = server.chat_requests[0].body
    assert body["model"] == "gpt-4o" and body["temperature"] == 0.0 and body["max_tokens"] == 1000


def test_429_retry_after_is_honoured() -> None:
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    async def go(server):
        async with JudgeClient(server.base_url, "gpt-4o", retry=FAST) as client:
            client._sleep = fake_sleep
            return await client.chat(MESSAGES, parse=parse_verdict)

    with FakeOpenAIServer(
        script=[Reply.rate_limited(retry_after=7), Reply.rate_limited(retry_after=0)]
    ) as server:
        reply = run(go(server))
        assert server.chat_count == 3
    assert reply.value.score == 4
    assert waits[0] >= 7.0  # the server's Retry-After, longer than our 0.01 s backoff
    assert waits[1] < 1.0


def test_backoff_grows_exponentially_with_jitter() -> None:
    client = JudgeClient("http://127.0.0.1:9/v1", "m", retry=RetryPolicy(base_delay=1.0, max_delay=100.0))
    for attempt in range(5):
        delays = [client._backoff(attempt, None) for _ in range(50)]
        cap = 2.0**attempt
        assert all(cap / 2 <= d <= cap for d in delays)
        assert len(set(delays)) > 1
    assert client._backoff(10, None) <= 100.0


def test_500s_then_success_and_exhaustion() -> None:
    with FakeOpenAIServer(script=[Reply.error(500), Reply.error(503), Reply.malformed_body()]) as server:
        reply, client = run(_chat(server))
        assert reply.value.score == 4 and server.chat_count == 4
        assert client.usage.attempts == 4 and client.usage.requests == 1
    with FakeOpenAIServer(default=Reply.error(502)) as server:
        with pytest.raises(JudgeHTTPError, match="gave up after 4 attempts") as info:
            run(_chat(server))
        assert server.chat_count == 4
    assert info.value.status == 502
    assert [a["status"] for a in info.value.attempts] == [502] * 4


def test_hang_past_timeout_is_retried_then_reported() -> None:
    with FakeOpenAIServer(script=[Reply.hang(3.0)]) as server:
        reply, _ = run(_chat(server, read_timeout=0.3, retry=RetryPolicy(max_attempts=2, base_delay=0.01)))
        assert reply.value.score == 4 and server.chat_count == 2
    with (
        FakeOpenAIServer(default=Reply.hang(3.0)) as server,
        pytest.raises(JudgeTimeout, match="timed out") as info,
    ):
        run(_chat(server, read_timeout=0.3, retry=RetryPolicy(max_attempts=2, base_delay=0.01)))
    assert len(info.value.attempts) == 2


def test_non_retryable_status_and_api_key() -> None:
    with FakeOpenAIServer(api_key="sk-right") as server:
        with pytest.raises(JudgeHTTPError, match="API key") as info:
            run(_chat(server, api_key="sk-wrong"))
        assert info.value.status == 401 and server.chat_count == 1
        reply, _ = run(_chat(server, api_key="sk-right"))
        assert reply.value.score == 4


def test_malformed_reply_gets_one_corrective_reask() -> None:
    with FakeOpenAIServer(script=[Reply.text("I think it deserves a 4 out of 5.")]) as server:
        reply, client = run(_chat(server))
        second = server.chat_requests[1].messages
    assert reply.value.score == 4 and reply.reasked and reply.requests == 2
    assert reply.texts[0] == "I think it deserves a 4 out of 5."
    assert second[-2] == {"role": "assistant", "content": "I think it deserves a 4 out of 5."}
    assert "no JSON object" in second[-1]["content"]
    assert client.usage.reasks == 1
    assert reply.cost_usd == pytest.approx(2 * 0.003)


@pytest.mark.parametrize(
    "bad",
    [
        Reply.score(7),
        Reply.text("Score: 4"),
        Reply.text('{"solution_correctness_score": 4'),
        Reply.score(True),
        Reply.score(3.5),
        Reply.json_reply({"score": 4}),
    ],
)
def test_never_guesses_a_score(bad: Reply) -> None:
    with FakeOpenAIServer(default=bad) as server:
        with pytest.raises(JudgeParseError, match="re-ask"):
            run(_chat(server))
        assert server.chat_count == 2  # the original request and exactly one re-ask


def test_reask_can_be_disabled() -> None:
    with FakeOpenAIServer(default=Reply.score(0)) as server:
        with pytest.raises(JudgeParseError, match="from 1 to 5; got 0"):
            run(_chat(server, reask=None))
        assert server.chat_count == 1


def test_cache_makes_rerun_free_and_keys_on_images(tmp_path: Path) -> None:
    cache_path = tmp_path / "cache.sqlite"
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    blue = np.zeros((8, 8, 3), np.uint8)
    blue[..., 2] = 255

    def messages(img):
        return [{"role": "user", "content": [text_part("judge"), image_part(img)]}]

    with FakeOpenAIServer(responder=lambda req: 3) as server:
        first, _ = run(_chat(server, messages(red), cache=ResponseCache(cache_path)))
        assert server.chat_count == 1
        again, client = run(_chat(server, messages(red), cache=str(cache_path)))
        assert server.chat_count == 1 and again.cached and again.cost_usd == 0.0
        assert client.usage.cache_hits == 1 and client.usage.requests == 0
        assert again.value == first.value
        run(_chat(server, messages(blue), cache=str(cache_path)))
        assert server.chat_count == 2  # another image is another request
        run(_chat(server, messages(red), cache=str(cache_path), cache_salt=1))
        assert server.chat_count == 3  # an independent sample
    assert request_key("m", messages(red), {"t": 0}) != request_key("m", messages(blue), {"t": 0})
    assert request_key("m", messages(red), {"t": 0}) != request_key("m2", messages(red), {"t": 0})


def test_data_url_of_png_file_keeps_bytes(tmp_path: Path) -> None:
    import base64

    from mmscore.testing.media import make_image

    path = make_image(tmp_path / "a.png")
    url = image_part(path)["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == path.read_bytes()


def test_max_cost_stops_before_the_next_request() -> None:
    async def go(server):
        async with JudgeClient(
            server.base_url, "gpt-4o", retry=FAST, concurrency=1, max_cost=0.005
        ) as client:
            results = []
            for i in range(5):
                try:
                    results.append(
                        await client.chat([{"role": "user", "content": f"q{i}"}], parse=parse_verdict)
                    )
                except BudgetExceeded as exc:
                    results.append(exc)
            return results, client

    with FakeOpenAIServer(usage=(1000, 50)) as server:  # $0.003 per request
        results, client = run(go(server))
        assert server.chat_count == 2  # spent 0.006 >= 0.005 after the second
    assert [isinstance(r, BudgetExceeded) for r in results] == [False, False, True, True, True]
    assert client.usage.cost_usd == pytest.approx(0.006)
    assert client.usage.failures == 0


def test_max_cost_needs_a_known_price() -> None:
    with pytest.raises(ConfigError, match="price"):
        JudgeClient("http://127.0.0.1:9/v1", "internvl3-8b", max_cost=1.0)


def test_concurrency_limit_is_respected() -> None:
    async def go(server):
        async with JudgeClient(server.base_url, "gpt-4o", retry=FAST, concurrency=3) as client:
            return await asyncio.gather(
                *(client.chat([{"role": "user", "content": f"q{i}"}], parse=parse_verdict) for i in range(9))
            )

    with FakeOpenAIServer(latency=0.15) as server:
        replies = run(go(server))
        assert server.max_active == 3 and server.chat_count == 9
    assert all(r.value.score == 4 for r in replies)


def test_list_models() -> None:
    async def go(server):
        async with JudgeClient(server.base_url, "x", retry=FAST) as client:
            return await client.list_models()

    with FakeOpenAIServer(model_id="OpenGVLab/InternVL3-8B") as server:
        assert run(go(server)) == ["OpenGVLab/InternVL3-8B"]


def test_price_table(tmp_path: Path) -> None:
    table = PriceTable()
    assert table.lookup("gpt-4o-2024-08-06").input_per_1m == 2.5
    assert table.lookup("gpt-4o-mini-2024-07-18").output_per_1m == 0.6
    assert table.lookup("llama") is None
    (tmp_path / "p.json").write_text(
        json.dumps({"internvl3-8b": {"input": 0, "output": 0}, "gpt-4o": {"input": 5, "output": 15}})
    )
    loaded = PriceTable.load(tmp_path / "p.json")
    assert loaded.lookup("gpt-4o").cost(1_000_000, 1_000_000) == pytest.approx(20.0)
    assert loaded.lookup("internvl3-8b").cost(10, 10) == 0.0
    (tmp_path / "p.yaml").write_text("my-model:\n  input_per_1m: 1.0\n  output_per_1m: 2.0\n")
    assert PriceTable.load(tmp_path / "p.yaml").lookup("my-model").output_per_1m == 2.0
    (tmp_path / "bad.json").write_text(json.dumps({"m": {"input": "free"}}))
    with pytest.raises(Exception, match="bad.json.*'m'"):
        PriceTable.load(tmp_path / "bad.json")


def test_json_object_extraction() -> None:
    assert json_object('```json\n{"a": 1}\n```') == {"a": 1}
    assert json_object('Here: {"a": {"b": 2}} done') == {"a": {"b": 2}}
    with pytest.raises(JudgeParseError, match="several"):
        json_object('{"a": 1} or {"a": 2}')
    with pytest.raises(JudgeParseError, match="no JSON"):
        json_object("[1, 2]")
    assert parse_verdict('{"solution_correctness_score": "5", "explanation": " ok "}') == Verdict(5, "ok")
    assert parse_verdict('{"solution_correctness_score": 2.0}') == Verdict(2, "")


def test_cache_survives_close_and_bad_file(tmp_path: Path) -> None:
    from mmscore.errors import InputError
    from mmscore.models.judge import Usage

    cache = ResponseCache(tmp_path / "c.sqlite")
    cache.put("k", "m", "text", Usage(3, 4))
    cache.close()
    assert cache.get("k")[0] == "text" and len(cache) == 1  # reopens on use
    cache.delete(["k"])
    assert cache.get("k") is None
    cache.close()
    (tmp_path / "bad.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(InputError, match="bad.sqlite"):
        ResponseCache(tmp_path / "bad.sqlite")
