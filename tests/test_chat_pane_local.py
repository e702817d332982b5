"""The Chat pane with the real default model (SmolLM2-135M-Instruct through LocalBackend): load after the first
frame with progress in the status line, then a streamed answer saved in the store."""

from __future__ import annotations

import pytest
from gptbench.core.config import Settings
from gptbench.core.params import GenerationParams
from gptbench.tui.app import GptBenchApp
from test_chat_pane import ready, screen_text, send, wait_for


@pytest.mark.e2e
async def test_real_default_model_answers_in_the_chat_pane():
    settings = Settings(params=GenerationParams(temperature=0.0, do_sample=False, max_tokens=12))
    app = GptBenchApp(settings)  # the real BackendPool and LocalBackend("smollm2")
    async with app.run_test(size=(100, 30)) as pilot:
        chat = await ready(pilot)
        assert app.backend.kind == "local" and app.backend.model == "smollm2"
        await wait_for(pilot, lambda: app.backend.loaded, timeout=300)
        await wait_for(pilot, lambda: "ready" in str(app.query_one("#status").render()))
        assert "cpu" in str(app.query_one("#status").render())
        await send(pilot, "What is the capital of France?")
        await wait_for(pilot, lambda: not chat.generating and "Assistant" in screen_text(app), timeout=120)
        path = await app.store.path(chat.session.id)
        reply = path[-1]
        assert reply.role == "assistant" and reply.status == "complete", reply
        assert "Paris" in reply.content
        assert reply.content in screen_text(app)
        assert reply.completion_tokens and reply.completion_tokens <= 12
        assert "ttft" in str(app.query_one("#usage").render())
