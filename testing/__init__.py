"""Pulumi's mocks as the tests and the benchmarks use them: the program, or one component, run
without an AWS account, with every resource it declares recorded (``mock_program``), and the one
adapter over Pulumi's mock internals (``mock_monitor``). Not shipped with the stack, not a CLI."""
