"""A contents manager that keeps files in memory: not file-based, like a database-backed one."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from jupyter_server.services.contents.manager import ContentsManager
from tornado import web


class MemoryContentsManager(ContentsManager):
    """Just enough of the contents API for a notebook to be saved and read back."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.files: dict[str, dict[str, Any]] = {}

    def _model(self, path: str, content: bool) -> dict[str, Any]:
        stored = self.files[path]
        now = datetime.now(timezone.utc)
        return {
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "type": stored["type"],
            "format": ("json" if stored["type"] == "notebook" else stored.get("format"))
            if content
            else None,
            "mimetype": None,
            "writable": True,
            "created": now,
            "last_modified": now,
            "size": None,
            "content": stored["content"] if content else None,
        }

    def get(
        self,
        path: str,
        content: bool = True,
        type: Any = None,
        format: Any = None,
        require_hash: bool = False,
    ) -> dict[str, Any]:
        path = path.strip("/")
        if path == "":
            return {**self._model_dir(), "content": [] if content else None}
        if path not in self.files:
            raise web.HTTPError(404, f"no such file: {path}")
        return self._model(path, content)

    def _model_dir(self) -> dict[str, Any]:
        now = datetime.now(timezone.utc)
        return {
            "name": "",
            "path": "",
            "type": "directory",
            "format": "json",
            "mimetype": None,
            "writable": True,
            "created": now,
            "last_modified": now,
            "size": None,
        }

    def save(self, model: dict[str, Any], path: str = "") -> dict[str, Any]:
        path = path.strip("/")
        self.run_pre_save_hooks(model=model, path=path)
        self.files[path] = {k: model.get(k) for k in ("type", "format", "content")}
        return self._model(path, False)

    def dir_exists(self, path: str) -> bool:
        return path.strip("/") == ""

    def is_hidden(self, path: str) -> bool:
        return False

    def file_exists(self, path: str = "") -> bool:
        return path.strip("/") in self.files

    def delete_file(self, path: str) -> None:
        self.files.pop(path.strip("/"), None)

    def rename_file(self, old_path: str, new_path: str) -> None:
        self.files[new_path.strip("/")] = self.files.pop(old_path.strip("/"))
