"""The command-line tools behind ``./dev``: plan, publish, drift, latency, backfill, cleanup and the
break-glass commands, and what they share: one-line errors and argument types (``cli``), the
buckets and S3 clients of a stack (``stack_buckets``), the folder scan the sandbox shares with
publish (``folder``), the cost model (``cost``). Stack files are read by ``settings.stack_file``;
the Pulumi mocks the tests and the benchmarks share live in ``testing/``."""
