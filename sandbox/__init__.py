"""The local sandbox: the whole request flow of a stack on one machine, with no AWS account.

S3 emulators per origin Region (moto's server), the real handler package, and an edge emulator
that behaves like CloudFront for this distribution. ``python -m sandbox --help``.
"""
