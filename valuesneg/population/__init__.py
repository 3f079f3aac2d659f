"""Populations of value-revealing agents meeting over generations (DESIGN.md section 1.6)."""

from .config import PopulationConfig, config_schema, load_config
from .runner import resume, start

__all__ = ["PopulationConfig", "config_schema", "load_config", "resume", "start"]
