"""The fault harness for the `faults` tests: every test gets stacks of its own (`tests.faults.stack`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.stack import FaultStack, start_fault_stack


@pytest.fixture
def fault_stack(tmp_path: Path) -> Iterator[Callable[..., FaultStack]]:
    made: list[FaultStack] = []

    def make(**options: object) -> FaultStack:
        stack = start_fault_stack(tmp_path / f"stack-{len(made)}", **options)  # type: ignore[arg-type]
        made.append(stack)
        return stack

    yield make
    for stack in made:
        stack.stop()
