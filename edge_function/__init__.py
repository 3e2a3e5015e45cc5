"""The code that runs at the edge, for both engines, and how it is built for deployment.

Lambda@Edge (``components.lambda_edge``): the origin-request handler (``origin_request``, with
its entry point ``lambda_function``), shipped as it is, and its packaging with the stack's routing
table as ``routing.json`` (``package``). CloudFront Functions (``components.cloudfront_function``):
the viewer-request function's template (``router.js``) and its rendering with the routing table
written in (``cloudfront_function``). Nothing here imports Pulumi: the components deploy this code,
and the sandbox, ``./dev plan`` and the benchmarks run or measure the same.
"""
