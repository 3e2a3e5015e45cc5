"""The command-line tools behind ``./dev plan``, ``./dev publish`` and ``./dev drift``, and what
they share: one-line errors and argument types (``cli``), the stack-file reader (``stack_file``),
the buckets and S3 clients of a stack (``stack_buckets``), the cost model (``cost``). The Pulumi
mocks the tests and the benchmarks share live in ``testing/``; the folder scan the sandbox shares
with publish lives in ``content/``."""
