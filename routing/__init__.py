"""Routing core: the Region catalogue, the nearest-origin routing table and the routing artifact.

Pure Python with no Pulumi or AWS dependency, so it is testable on its own and shared by the
Pulumi program and the local tools.
"""
