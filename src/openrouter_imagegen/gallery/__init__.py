"""A static HTML gallery of a folder of generated images (the `pil` extra, for thumbnails).

`write_gallery(directory)` writes `directory/index.html`: thumbnails loaded
lazily, each image's model, seed, parameters, cost, latency and status,
failed items with their reason, a grid of model x seed for a prompt made
several ways, and filters by model and status. The page opens from disk: no
server, no network, nothing fetched from anywhere but its own folder.
"""

from openrouter_imagegen._public import publish
from openrouter_imagegen.gallery._gallery import write_gallery

__all__ = ["write_gallery"]

publish(globals(), __all__, __name__)
