"""The function's entry point (handler ``lambda_function.handler``): routes by the packaged artifact.

Loading happens here, at import, so each container reads ``routing.json`` once, during its init.
"""

from origin_request import build_handler, load_artifact

handler = build_handler(load_artifact())
