"""The type variables the generated overload ladders use (tests/typing/generate_overloads.py)."""

from typing import TypeVar

__all__ = ["R1", "R2", "R3", "R4", "R5", "R6", "T"]

T = TypeVar("T")
R1 = TypeVar("R1")
R2 = TypeVar("R2")
R3 = TypeVar("R3")
R4 = TypeVar("R4")
R5 = TypeVar("R5")
R6 = TypeVar("R6")
