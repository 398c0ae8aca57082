"""Pure image operations, one family per module, each step registered by name."""

from .registry import OpOptions, OpSpec, apply_op, get_op, list_ops, register_op

__all__ = ["OpOptions", "OpSpec", "apply_op", "get_op", "list_ops", "register_op"]
