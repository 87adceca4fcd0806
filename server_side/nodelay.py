"""TCP_NODELAY on kernel websockets, which jupyter_server leaves with Nagle's algorithm on.

With Nagle on, a small websocket frame written while an earlier one is unacknowledged waits for
the client's delayed ACK (~40 ms on Linux). Kernel messages are small and come in bursts (status,
display_data, status), so every output shown through vfs_ext paid that stall.

jupyter_server builds each kernel websocket's connection object from the class in the tornado
setting ``kernel_websocket_connection_class`` (``ServerApp.kernel_websocket_connection_class``)
and calls its ``connect()`` once the websocket handshake is done. We replace that setting with a
subclass of whatever class is configured whose ``connect()`` first sets TCP_NODELAY on the
handler's stream; everything else, including the class's configuration, is inherited.
"""

from __future__ import annotations

from typing import Any


def with_nodelay(connection_class: type) -> type:
    """A subclass of ``connection_class`` that sets TCP_NODELAY before connecting to the kernel."""
    if getattr(connection_class, "_vfs_ext_nodelay", False):
        return connection_class  # already wrapped (e.g. the extension loaded twice)

    def connect(self: Any) -> Any:
        # Called from KernelWebsocketHandler.open(): the handshake is done, the stream exists.
        handler = self.websocket_handler
        if getattr(handler, "ws_connection", None) is not None:
            handler.set_nodelay(True)
        return super(cls, self).connect()  # a Future, None or a coroutine: returned as is

    cls: type[Any] = type(
        connection_class.__name__,  # config sections by class name still apply (and via the MRO)
        (connection_class,),
        {
            "__doc__": f"{connection_class.__doc__ or ''}\n\nWith TCP_NODELAY (vfs_ext).",
            "__module__": __name__,
            "__qualname__": connection_class.__qualname__,
            "_vfs_ext_nodelay": True,
            "connect": connect,
        },
    )
    return cls


def install(settings: dict[str, Any]) -> type | None:
    """Wrap the configured kernel websocket connection class in ``settings`` (tornado's);
    returns the class now in use, None if there is none configured."""
    configured = settings.get("kernel_websocket_connection_class")
    if configured is None:
        return None
    settings["kernel_websocket_connection_class"] = with_nodelay(configured)
    return settings["kernel_websocket_connection_class"]
