"""storage: the same calls on local folders and on a real S3-compatible server on loopback
(moto's ThreadedMotoServer, see conftest.s3_endpoint): bytes in and out, listing, globs, typed errors."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from product_studio import storage
from product_studio.errors import (
    ImageTooLargeError,
    OutputError,
    StorageCredentialsError,
    StorageNotFoundError,
    StorageUnreachableError,
    UsageError,
)
from product_studio.item import ImageItem


def jpeg_bytes(colour=(200, 30, 30), size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "JPEG", quality=90)
    return buf.getvalue()


# --------------------------------------------------------------------------- paths

def test_remote_urls_are_recognised_including_the_pathlib_spelling():
    assert storage.is_remote("s3://b/k.jpg") and storage.is_remote(Path("s3://b/k.jpg"))  # Path makes it s3:/b/k.jpg
    assert storage.normalize(Path("s3://b/k.jpg")) == "s3://b/k.jpg"
    assert not storage.is_remote("/tmp/s3/x.jpg") and not storage.is_remote("photos/a.jpg")
    assert storage.normalize("photos/a.jpg") == Path("photos/a.jpg")


def test_join_and_output_path_refuse_escapes_on_s3():
    assert storage.join("s3://b/out/", "shoes/a.jpg") == "s3://b/out/shoes/a.jpg"
    assert storage.output_path("s3://b/out", "shoes/a.jpg") == "s3://b/out/shoes/a.jpg"
    for hostile in ("../x.jpg", "/etc/x.jpg", "a/../../x.jpg"):
        with pytest.raises(OutputError, match="leave the output folder"):
            storage.output_path("s3://b/out", hostile)


def test_a_url_without_bucket_is_a_usage_error():
    with pytest.raises(UsageError, match="names no bucket"):
        storage.read_input("s3://")


# --------------------------------------------------------------------------- local

def test_local_round_trip_is_atomic_and_lists_images(tmp_path):
    target = tmp_path / "out" / "sub" / "a.jpg"
    storage.write_output(target, b"abc")
    assert target.read_bytes() == b"abc" and not list(tmp_path.rglob("*.part"))
    assert storage.read_input(target) == b"abc" and storage.exists(target) and storage.kind(target) == "file"
    (tmp_path / "out" / "notes.txt").write_text("x")
    (tmp_path / "out" / ".hidden.jpg").write_bytes(b"x")
    assert [rel for _, rel in storage.list_images(tmp_path / "out")] == ["sub/a.jpg"]
    with pytest.raises(UsageError, match="no such file"):
        storage.read_input(tmp_path / "missing.jpg")


# --------------------------------------------------------------------------- S3

def test_s3_write_read_exists_and_content_type(s3_bucket):
    url = f"s3://{s3_bucket}/out/a.jpg"
    assert not storage.exists(url)
    data = jpeg_bytes()
    storage.write_output(url, data)
    assert storage.exists(url) and storage.kind(url) == "file" and storage.kind(f"s3://{s3_bucket}/out") == "folder"
    assert storage.read_input(url) == data
    import boto3

    head = boto3.client("s3").head_object(Bucket=s3_bucket, Key="out/a.jpg")
    assert head["ContentType"] == "image/jpeg" and head["ContentLength"] == len(data)


def test_s3_list_is_recursive_images_only_and_keeps_key_below_prefix(s3_bucket):
    for key in ("shots/a.jpg", "shots/shoes/b.PNG", "shots/shoes/deep/c.webp", "shots/notes.txt",
                "shots/.thumbs/t.jpg", "shots-old/x.jpg", "other/y.jpg"):
        storage.write_output(f"s3://{s3_bucket}/{key}", b"x")
    listed = storage.list_images(f"s3://{s3_bucket}/shots/")
    assert [rel for _, rel in listed] == ["a.jpg", "shoes/b.PNG", "shoes/deep/c.webp"]
    assert listed[1][0] == f"s3://{s3_bucket}/shots/shoes/b.PNG"
    assert [rel for _, rel in storage.list_images(f"s3://{s3_bucket}/shots", recursive=False)] == ["a.jpg"]
    assert [rel for _, rel in storage.list_images(f"s3://{s3_bucket}/nothing-here/")] == []


def test_s3_glob_relative_to_fixed_part(s3_bucket):
    for key in ("g/a.jpg", "g/b.png", "g/sub/c.jpg", "g/.d.jpg"):
        storage.write_output(f"s3://{s3_bucket}/{key}", b"x")
    assert [rel for _, rel in storage.glob(f"s3://{s3_bucket}/g/*.jpg")] == ["a.jpg"]
    assert [rel for _, rel in storage.glob(f"s3://{s3_bucket}/g/**/*.jpg")] == ["a.jpg", "sub/c.jpg"]


def test_s3_missing_object_and_bucket_are_typed_errors_naming_the_url(s3_bucket):
    url = f"s3://{s3_bucket}/nope.jpg"
    with pytest.raises(StorageNotFoundError, match="no such object") as info:
        storage.read_input(url)
    assert url in str(info.value)
    with pytest.raises(StorageNotFoundError):
        storage.read_input("s3://no-such-bucket-here/x.jpg")
    with pytest.raises(StorageNotFoundError, match="bucket 'no-such-bucket-here' does not exist"):
        storage.prepare_output_dir("s3://no-such-bucket-here/out")
    assert storage.prepare_output_dir(f"s3://{s3_bucket}/out/") == f"s3://{s3_bucket}/out"


def test_s3_object_over_the_byte_limit_is_refused_before_download(s3_bucket):
    url = f"s3://{s3_bucket}/big.jpg"
    storage.write_output(url, b"x" * 5000)
    with pytest.raises(ImageTooLargeError, match="over the limit"):
        storage.read_input(url, max_bytes=1000)


def test_no_credentials_is_a_typed_error(s3_bucket, monkeypatch, tmp_path):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(StorageCredentialsError, match="no credentials found"):
        storage.read_input(f"s3://{s3_bucket}/a.jpg")


def test_unreachable_endpoint_is_a_typed_error(s3_bucket, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(StorageUnreachableError, match="could not connect to http://127.0.0.1:9"):
        storage.write_output(f"s3://{s3_bucket}/a.jpg", b"x", options={"config_kwargs": {"retries": {"max_attempts": 1}}})


def test_save_output_and_check_output_on_s3(s3_bucket):
    from product_studio.pipeline import check_output

    pixels = np.full((600, 600, 3), 255, np.uint8)
    pixels[40:560, 40:560] = (30, 60, 160)
    url = f"s3://{s3_bucket}/ready/p.jpg"
    saved = storage.save_output(ImageItem(pixels=pixels), url, format="jpeg")
    assert saved.bytes == len(storage.read_input(url)) and (saved.width, saved.height) == (600, 600)
    with pytest.raises(OutputError, match="file exists"):
        storage.save_output(ImageItem(pixels=pixels), url, format="jpeg")
    with pytest.raises(OutputError, match="overwrite its input"):
        storage.save_output(ImageItem(pixels=pixels), url, format="jpeg", overwrite=True, protect=(url,))
    report = check_output(storage.read_input(url), "amazon-main")  # what the batch engine checks on S3
    assert report["width"] == 600 and report["passed"] is not None
    with Image.open(io.BytesIO(storage.read_input(url))) as im:
        assert im.format == "JPEG" and im.size == (600, 600)
