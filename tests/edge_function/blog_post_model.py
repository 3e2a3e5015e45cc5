"""A model of the AWS blog post's origin-request function, kept only to prove the defect tests can
fail.

It reproduces the post's behaviour, not its text: a six-Region hand mapping with a default bucket,
a case-sensitive marker check, and the executing Region written into ``origin.s3.region``. It is
never shipped or imported outside the tests.
"""

from tests.support import domain_of, request_of

_HAND_MAPPING = {
    "us-east-1": "us-east-1",
    "us-east-2": "us-east-1",
    "eu-central-1": "eu-central-1",
    "eu-west-2": "eu-central-1",
    "ap-northeast-1": "ap-northeast-1",
    "ap-northeast-2": "ap-northeast-1",
}
_DEFAULT = "us-east-1"


def blog_post_model_handler(marker_header: str):
    def handler(event, context):
        request = request_of(event)
        origin_key = next(iter(request["origin"]))
        custom_headers = request["origin"][origin_key].get("customHeaders", {})
        if origin_key != "s3" or marker_header in custom_headers:
            return request
        lambda_region = context.invoked_function_arn.split(":")[3]
        domain = domain_of(_HAND_MAPPING.get(lambda_region, _DEFAULT))
        request["origin"]["s3"]["domainName"] = domain
        request["origin"]["s3"]["region"] = lambda_region
        request["headers"]["host"] = [{"key": "host", "value": domain}]
        return request

    return handler
