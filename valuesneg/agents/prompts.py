"""Versioned prompt templates, one file per role and step, shipped in ``prompts/``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from string import Template

PACKAGE = "valuesneg"  # valuesneg/prompts links to the top-level prompts/ folder


@dataclass(frozen=True)
class Prompt:
    """A versioned prompt template; its tag (``id@vN``) is recorded with every run that used
    it."""

    id: str
    version: int
    template: Template

    @property
    def tag(self) -> str:
        return f"{self.id}@v{self.version}"

    def render(self, **values: str) -> str:
        return self.template.substitute(values)


@cache
def load_prompt(name: str) -> Prompt:
    """The prompt ``prompts/NAME.md``: its front matter (id, version) and its template body."""
    text = resources.files(PACKAGE).joinpath("prompts", f"{name}.md").read_text(encoding="utf-8")
    _, front, body = text.split("---\n", 2)
    meta = dict(line.split(":", 1) for line in front.strip().splitlines())
    meta = {k.strip(): v.strip() for k, v in meta.items()}
    if meta.get("id") != name:
        raise ValueError(f"prompts/{name}.md declares id {meta.get('id')!r}")
    return Prompt(id=name, version=int(meta["version"]), template=Template(body.lstrip()))
