"""A minimal client for an OpenAI-compatible chat endpoint (``/v1/chat/completions``), standard library only.

``chat(config, messages)`` posts the messages and returns the answer's text; ``parse_json_answer``
reads the JSON object a model was asked for out of that text (a fenced block or bare). Network,
HTTP and timeout failures raise ``urllib.error.URLError`` / ``OSError`` / ``TimeoutError``; a
malformed answer raises ``ValueError`` / ``KeyError`` / ``IndexError`` / ``TypeError``.
"""

from __future__ import annotations

import json
import re
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LLMConfig:
    """An OpenAI-compatible chat endpoint: ``url`` (``http://host:port`` or ``.../v1`` or the
    full ``.../v1/chat/completions``), ``model`` and an optional bearer ``api_key``."""

    url: str
    model: str = "gpt-4o-mini"
    api_key: str | None = None
    timeout: float = 30.0
    temperature: float = 0.2

    @property
    def endpoint(self) -> str:
        url = self.url.rstrip("/")
        if url.endswith("/chat/completions"):
            return url
        if url.endswith("/v1"):
            return url + "/chat/completions"
        return url + "/v1/chat/completions"


def chat(config: LLMConfig, messages: list[dict[str, str]]) -> str:
    """The text of the endpoint's first choice for ``messages`` (``[{"role": ..., "content": ...}]``)."""
    body = json.dumps(
        {"model": config.model, "messages": messages, "temperature": config.temperature}, ensure_ascii=False
    ).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if config.api_key:
        headers["Authorization"] = f"Bearer {config.api_key}"
    request = urllib.request.Request(config.endpoint, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=config.timeout) as response:
        answer = json.loads(response.read().decode("utf-8"))
    return str(answer["choices"][0]["message"]["content"])


def parse_json_answer(content: str) -> Any:
    """The JSON value from the first "{" to the last "}" of a model's answer (inside a fenced block if it has one)."""
    text = content.strip()
    fence = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    if fence:
        text = fence.group(1).strip()
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("the answer holds no JSON object")
    return json.loads(text[start : end + 1])
