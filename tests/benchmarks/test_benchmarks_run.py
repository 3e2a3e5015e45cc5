"""The benchmarks still run (figures are never asserted: they are printed by ./dev bench)."""

import pytest

from benchmarks import edge_function, program, publish, sandbox

# What ./dev bench runs, whole: seconds each, and only ever a proof that the case still runs.
WHOLE_BENCHMARK = pytest.mark.slow(
    reason="runs a ./dev bench program whole (the program under mocks up to 20 origins, a "
    "sandbox, publish against moto's S3): only its whole run shows that every case still runs"
)


@WHOLE_BENCHMARK
def test_the_program_benchmark_runs_every_case(capsys):
    program.main(["--runs", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[0].strip() for line in lines] == [
        "prod stack (3 origins)",
        "20 origins",
        "dev stack (CF Functions)",
    ]
    assert all("resources  median" in line for line in lines)


def test_the_edge_function_benchmark_runs(capsys):
    edge_function.main(["--repeats", "1", "--calls", "100", "--starts", "1"])
    out = capsys.readouterr().out
    assert "handler, normal request" in out and "package, 20 origins" in out
    assert "cold container's first request: import" in out
    assert "router, ranked group" in out and "function code, 20 origins" in out


@WHOLE_BENCHMARK
def test_the_sandbox_benchmark_runs(capsys):
    sandbox.main(["--requests", "20", "--threads", "2"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[0].strip() for line in lines] == [
        "cache misses",
        "cache hits",
        "misses, us-east-1 down",
    ]
    assert all("non-200: 0" in line for line in lines)


@WHOLE_BENCHMARK
def test_the_publish_benchmark_runs(capsys):
    publish.main(["--files", "30", "--drift-objects", "100", "--without-aws-cli"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[2] for line in lines[2:4]] == ["./dev", "./dev"]
    assert [line.split()[0] for line in lines[4:]] == ["drift:", "drift:"]
