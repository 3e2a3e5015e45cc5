"""Outputs the program promises early and keeps later (``pulumi.deferred_output``), kept even when
the program stops before it gets there.

Pulumi waits for every registration and output of a program before it reports the program's error
(``run_pulumi_func`` awaits ``wait_for_rpcs`` first). A resource whose input is a deferred output
that is never resolved waits forever, so an error raised between the promise and its keeping, such
as a provider older than an input the program passes, would turn ``pulumi up`` into a hang with no
message. On an error, every promise still open is kept with that error instead: what waits on it
fails with the program's own error, and Pulumi reports it.
"""

from collections.abc import Callable
from types import TracebackType
from typing import Any

import pulumi


class Promises:
    """Use as a context manager around the program; ``promise()`` in place of
    ``pulumi.deferred_output()``."""

    def __init__(self) -> None:
        self._open: dict[int, Callable[[pulumi.Output[Any]], None]] = {}

    def promise(self) -> tuple[pulumi.Output[Any], Callable[[pulumi.Output[Any]], None]]:
        """An output, and the function that keeps it with the output it stands for."""
        output: pulumi.Output[Any]
        resolve: Callable[[pulumi.Output[Any]], None]
        output, resolve = pulumi.deferred_output()
        key = id(resolve)
        self._open[key] = resolve

        def keep(value: pulumi.Output[Any]) -> None:
            self._open.pop(key)(value)

        return output, keep

    def __enter__(self) -> "Promises":
        return self

    def __exit__(
        self,
        error_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is None:
            return
        while self._open:
            _, resolve = self._open.popitem()
            resolve(_failing(error))


def _failing(error: BaseException) -> pulumi.Output[Any]:
    def fail(_: object) -> Any:
        raise error

    return pulumi.Output.from_input(None).apply(fail)
