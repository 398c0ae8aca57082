"""Batch engines: run one recipe over many inputs and report on every file."""

from .local import BatchReport, FileResult, plan_outputs, process_batch, process_file

__all__ = ["BatchReport", "FileResult", "plan_outputs", "process_batch", "process_file"]
