"""Recipes for torch models: :class:`sow.Recipe` and its rule targets live in :mod:`sow._recipe`
(torch-free, shared with ``sow.jax``); this module keeps the names ``sow.torch`` has always had."""

from __future__ import annotations

from .._recipe import HF_INIT, MODULE_CODE, Action, Recipe, Target

__all__ = ["Recipe", "Target", "MODULE_CODE", "HF_INIT", "Action"]
