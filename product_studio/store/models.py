"""Tables: jobs, results, feedback (SQLAlchemy 2 declarative, portable to SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Job(Base):
    """A batch submitted to /v1/jobs: its inputs are files under the blob store."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)  # queued|running|done|failed
    preset: Mapped[str | None] = mapped_column(String(200))
    recipe: Mapped[dict[str, Any]] = mapped_column(JSON)
    inputs: Mapped[list[Any]] = mapped_column(JSON)  # [{"name": original file name, "blob": stored path}]
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(200))  # "host:pid:random" of the server that owns it
    # The owner renews this lease while it is alive (JobRunner's heartbeat); an active job whose lease has
    # run out belongs to a server that stopped, whatever its PID or host name, and is failed.
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Result(Base):
    """One processed image (from a request or a job), with what produced it."""

    __tablename__ = "results"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))  # process | remove-bg | repair
    status: Mapped[str] = mapped_column(String(16), default="done")  # done | failed
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    position: Mapped[int | None] = mapped_column(Integer)  # index of the input within its job
    input_name: Mapped[str | None] = mapped_column(String(500))
    preset: Mapped[str | None] = mapped_column(String(200), index=True)
    recipe: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    recipe_hash: Mapped[str | None] = mapped_column(String(32))
    ops: Mapped[list[Any]] = mapped_column(JSON, default=list)  # op names in order
    models: Mapped[list[Any]] = mapped_column(JSON, default=list)  # model labels (name@sha) the steps used
    variant: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # tunable options, e.g. white_background.shadow
    steps: Mapped[list[Any]] = mapped_column(JSON, default=list)  # the item's log
    input_path: Mapped[str | None] = mapped_column(String(1000))
    input_format: Mapped[str | None] = mapped_column(String(16))
    input_width: Mapped[int | None] = mapped_column(Integer)
    input_height: Mapped[int | None] = mapped_column(Integer)
    output_path: Mapped[str | None] = mapped_column(String(1000))
    output_format: Mapped[str | None] = mapped_column(String(16))
    output_width: Mapped[int | None] = mapped_column(Integer)
    output_height: Mapped[int | None] = mapped_column(Integer)
    output_bytes: Mapped[int | None] = mapped_column(Integer)
    compliance: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


class Feedback(Base):
    """A person's verdict on a result; the latest verdict per result counts (one row per result).

    What produced the result is copied here (ops, preset, models, variant) so the report and the
    tuning read one table and survive the result's files being cleaned up."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # A deleted or expired result leaves its vote here (result_id and comment cleared): the report and the
    # tuning count it, and nothing in it points at a person's image any more.
    result_id: Mapped[str | None] = mapped_column(ForeignKey("results.id", ondelete="SET NULL"), unique=True, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    verdict: Mapped[str] = mapped_column(String(8))  # accept | reject
    comment: Mapped[str | None] = mapped_column(Text)
    preset: Mapped[str | None] = mapped_column(String(200), index=True)
    ops: Mapped[list[Any]] = mapped_column(JSON, default=list)
    models: Mapped[list[Any]] = mapped_column(JSON, default=list)
    variant: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recipe_hash: Mapped[str | None] = mapped_column(String(32))
