"""The IPython side of vfs_ext: ``%load_ext vfs_ext``, the ``%vfs`` magics, the Python API and
output externalization.

- ``extension``: ``load``/``unload`` (called by ``vfs_ext.load_ipython_extension``).
- ``session``: the kernel's owner (its kernel id, stable across restarts) and the running
  cell's group (its ``cellId``; re-running the cell releases the previous run's files).
- ``discovery``: the server's store from the inherited ``VFS_EXT_*`` environment when that
  server is our ``JPY_PARENT_PID`` (a kernel nbclient or papermill starts from a served kernel or
  a terminal inherits the variables, not the server), else from the record the
  ``JPY_PARENT_PID`` server published in the runtime dir; else no server.
- ``hooks`` + ``externalize`` (+ ``vega``): large payloads become virtual files at
  ``display_formatter.format`` (before any base64) and, for raw bundles, in a publisher hook.
  ``shown`` replays the published messages as the front end applies them: files no output
  shows any more (replaced by an update, cleared) are retired, released after vfs_ext.retire's
  grace.
- ``magics``: ``%%vfs``, ``%vfs auto|ls|stats|rm|clear``; ``files``: ``vfile()``; ``api``: the
  public face, ``vfile()`` and the display helpers.

Without a server everything stays inline (one notice per kernel); ``vfile()`` then returns a
``data:`` URL of at most ``api.DATA_URL_LIMIT`` (4 MiB) and raises VirtualFileError beyond.
A payload that fits no tier stays inline up to ``externalize.INLINE_FALLBACK_LIMIT`` (16 MiB);
a larger one is replaced by an error message naming the setting to change.
"""
