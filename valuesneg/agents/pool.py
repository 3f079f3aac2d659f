"""The models a run's LLM parties speak through: one per party if the scenario says so.

A party's ``agent:`` may name its own ``model``, ``base_url``, ``temperature`` and, for the
embedded model, ``n_ctx``; ``--model PARTY=NAME`` overrides the model. Whatever a party
leaves unset comes from the run (``--backend``, ``--model``, ``--base-url``). The pool starts
an embedded server per distinct setting and opens an OpenAI-compatible client per distinct
endpoint, each on first use, and stops them all on exit, so a run may mix the embedded
model with a remote endpoint, and two parties never share a server they did not ask to.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from valuesneg.scenario import Scenario

from .local_server import DEFAULT_N_CTX, LocalModelServer, local_chat_model
from .models import ChatModel, ModelError
from .openai_model import OpenAIChatModel

LOCAL = "local"  # the model name that means the embedded model


@dataclass(frozen=True)
class ModelSetting:
    """How one party's model is reached; recorded in run.json, outcome.json and the report."""

    model: str  # LOCAL, or a model name at base_url
    base_url: str | None
    temperature: float
    n_ctx: int | None  # the embedded server's context size (None: the shared default)

    @property
    def local(self) -> bool:
        return self.model == LOCAL

    def describe(self, served: str | None = None) -> dict[str, Any]:
        return {**asdict(self), "served_model": served}


class ModelPool:
    """Chat models by setting, created on first use; ``close`` stops every server."""

    def __init__(self, backend: str, *, model: str | None = None, base_url: str | None = None,
                 seed: int = 0, log_dir: Path | None = None,
                 overrides: Mapping[str, str] | None = None) -> None:
        self.backend, self.model, self.base_url = backend, model, base_url
        self.seed, self.log_dir = seed, log_dir
        self.overrides = dict(overrides or {})
        self._stack = ExitStack()
        self._servers: dict[int, LocalModelServer] = {}
        self._models: dict[ModelSetting, ChatModel] = {}
        self._lock = threading.Lock()

    def setting(self, scenario: Scenario, party: str) -> ModelSetting:
        spec = scenario.agent_spec(party)
        model = self.overrides.get(party) or spec.model or self.model
        base_url = spec.base_url or self.base_url
        if model is None or (self.backend == LOCAL and spec.model is None
                             and party not in self.overrides):
            model = LOCAL if self.backend == LOCAL else (model or "gpt-4o-mini")
        local = model == LOCAL
        return ModelSetting(model=model, base_url=None if local else base_url,
                            temperature=spec.temperature or 0.0,
                            n_ctx=spec.n_ctx if local else None)

    def default_setting(self) -> ModelSetting:
        if self.backend == LOCAL:
            return ModelSetting(LOCAL, None, 0.0, None)
        return ModelSetting(self.model or "gpt-4o-mini", self.base_url, 0.0, None)

    def chat(self, setting: ModelSetting) -> ChatModel:
        with self._lock:
            if setting not in self._models:
                self._models[setting] = self._open(setting)
            return self._models[setting]

    def served(self, setting: ModelSetting) -> str:
        """The model the endpoint actually serves (the embedded model's file name)."""
        if setting.local:
            return self._server(setting.n_ctx or DEFAULT_N_CTX).model
        return setting.model

    def _open(self, setting: ModelSetting) -> ChatModel:
        try:
            if setting.local:
                server = self._server(setting.n_ctx or DEFAULT_N_CTX)
                return local_chat_model(server, temperature=setting.temperature,
                                        seed=self.seed)
            chat = OpenAIChatModel(model=setting.model, base_url=setting.base_url,
                                   seed=self.seed, temperature=setting.temperature,
                                   structured="auto")
            chat.structured_form  # noqa: B018 - asks GET /models now: an unreachable
            # endpoint fails before a run has written anything, not at its first decision
            return chat
        except ModelError as error:
            from valuesneg.io.files import UserError

            raise UserError(str(error)) from None

    def _server(self, n_ctx: int) -> LocalModelServer:
        if n_ctx not in self._servers:
            log_dir = None if self.log_dir is None else (
                self.log_dir if n_ctx == DEFAULT_N_CTX else self.log_dir / f"n_ctx-{n_ctx}")
            server = LocalModelServer(log_dir=log_dir, n_ctx=n_ctx)
            self._servers[n_ctx] = self._stack.enter_context(server)
        return self._servers[n_ctx]

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> ModelPool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


__all__ = ["LOCAL", "ModelPool", "ModelSetting"]
