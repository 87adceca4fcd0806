"""``python -m server_side``: every ``VirtualFiles`` setting with its help and its value here.

``jupyter server --help-all`` lists only the server's own classes, not its extensions'.
"""

from .app import VirtualFiles
from .traits import VirtualFilesConfig

if __name__ == "__main__":
    app = VirtualFiles()
    settings = VirtualFilesConfig.class_own_traits(config=True).values()
    for trait in sorted(settings, key=lambda t: t.name or ""):
        print(app.class_get_trait_help(trait, app))
