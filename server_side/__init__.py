"""The jupyter-server side of vfs_ext: ``{base_url}@file/<name>``, ``api/vfs`` and cleanup.

``app.VirtualFiles`` is the extension (config, start-up, sweeps, shutdown), ``handlers`` serves the
files, ``admin`` reports usage. It imports only ``vfs_ext``, never ``kernel_side``.
"""
