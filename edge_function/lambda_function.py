"""The function's entry point (handler ``lambda_function.handler``): routes by the packaged
artifact.

Loading happens here, at import, so each container reads ``routing.json`` once, during its init.
"""

# Lambda imports the package's modules from its root, so this is a top-level import there.
from origin_request import build_handler, load_artifact  # type: ignore[import-not-found]

handler = build_handler(load_artifact())
