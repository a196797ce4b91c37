"""Table-in, columns-out operators (DataFlow-compatible) and their registry."""

from mmscore.operators.base import Operator
from mmscore.operators.registry import get_operator, list_operators, register_operator

__all__ = ["Operator", "get_operator", "list_operators", "register_operator"]
