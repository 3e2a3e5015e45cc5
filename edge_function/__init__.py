"""The Lambda@Edge origin-request function (``origin_request``, shipped) and how it is packaged."""
