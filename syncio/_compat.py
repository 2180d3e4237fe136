"""Typing names from ``typing`` where this Python has them, else from ``typing_extensions``.

On Python 3.11+ syncio's run-time modules then never import typing_extensions, which
costs about 1.4 MiB in the caller and in every forked worker.
"""

import sys

if sys.version_info >= (3, 11):
    from typing import Never, ParamSpec, Self, TypeVarTuple, Unpack
else:
    from typing_extensions import Never, ParamSpec, Self, TypeVarTuple, Unpack

__all__ = ["Never", "ParamSpec", "Self", "TypeVarTuple", "Unpack"]
