"""The evacuator: health checks of every origin bucket from several vantage Regions, and the routing
state they write (which origins are out of rotation). Runs as a scheduled Lambda function in each
vantage Region, and in-process in the sandbox; standard library and the Lambda runtime's boto3 only,
plus the pure-Python ``ecdsa`` package for CloudFront KeyValueStore's SigV4A signatures."""
