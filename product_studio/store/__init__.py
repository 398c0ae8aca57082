"""The store: jobs, results and feedback in a database (SQLAlchemy: SQLite by default, PostgreSQL
by URL), and the image files beside it.

    >>> from product_studio.store import open_database, acceptance_report
    >>> db = open_database("sqlite:///studio.sqlite")
    >>> acceptance_report(db)["by_op"]
"""

from .blobs import BlobStore
from .db import Database, open_database
from .feedback import TUNABLE_OPTIONS, acceptance_report, decide, tune_recipe, variant_of, wilson_interval
from .models import Base, Feedback, Job, Result
from .repository import new_id, record_feedback

__all__ = [
    "TUNABLE_OPTIONS",
    "Base",
    "BlobStore",
    "Database",
    "Feedback",
    "Job",
    "Result",
    "acceptance_report",
    "decide",
    "new_id",
    "open_database",
    "record_feedback",
    "tune_recipe",
    "variant_of",
    "wilson_interval",
]
