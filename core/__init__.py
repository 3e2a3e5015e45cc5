"""The ground floor: values and documents that AWS and this project fix, with no Pulumi import.

The settings, the components, the tools and the sandbox all read them here, each from the module
of its owner: CloudFront and Lambda@Edge (``cloudfront``), the buckets (``buckets``), logs and
alarms (``monitoring``), the evacuator and the routing state (``evacuation``, ``routing_state``),
the web ACL (``waf``), the engines (``engine``), resource names (``naming``) and policy documents
(``policies``)."""
