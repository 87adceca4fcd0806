"""Kernel messages the tests and the bench send, built in one place."""

from __future__ import annotations

from typing import Any


def execute_content(code: str) -> dict[str, Any]:
    """An execute_request's content as JupyterLab sends it for a cell run."""
    return {
        "code": code,
        "silent": False,
        "store_history": True,
        "user_expressions": {},
        "allow_stdin": False,
        "stop_on_error": True,
    }


def cell_metadata(cell_id: str | None) -> dict[str, Any]:
    """The execute_request metadata JupyterLab adds: the cell's id, when there is one."""
    return {"cellId": cell_id} if cell_id else {}
