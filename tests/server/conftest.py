"""Server fixtures: product photos as file bytes, and the real server (uvicorn) on a loopback port."""

from __future__ import annotations

import io
import socket
import threading
import time

import numpy as np
import pytest
import uvicorn
from PIL import Image

from product_studio.server import Settings, create_app


def pytest_configure(config):
    # starlette 1.x asks TestClient users to move to "httpx2"; httpx is what we pin.
    config.addinivalue_line("filterwarnings", "ignore:Using `httpx` with `starlette.testclient`")

KEY = "test-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def product_photo(width: int = 1000, height: int = 1000) -> np.ndarray:
    """A red box with a darker stripe on a light grey, slightly graded studio background."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([225 + x * 10 // width, 225 + y * 10 // height, np.full((height, width), 228)], axis=-1).astype(np.uint8)
    image[height // 4 : 3 * height // 4, width // 3 : 2 * width // 3] = (190, 30, 35)
    image[height // 2 - 10 : height // 2 + 10, width // 3 : 2 * width // 3] = (120, 10, 15)
    return image


def encode(pixels: np.ndarray, fmt: str = "JPEG", **kwargs) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, fmt, **kwargs)
    return buf.getvalue()


@pytest.fixture(scope="session")
def photo_jpeg() -> bytes:
    """A 1000x1000 (1 MP) product photo, JPEG."""
    return encode(product_photo(), quality=90)


@pytest.fixture(scope="session")
def white_jpeg() -> bytes:
    """A compliant-looking image: a product on pure white, 1000x1000."""
    image = np.full((1000, 1000, 3), 255, np.uint8)
    image[40:960, 200:800] = (30, 60, 160)
    return encode(image, quality=95)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", cpu_slots=2)


class LiveServer:
    """uvicorn serving ``create_app(settings)`` in a thread, on 127.0.0.1 and a free port."""

    def __init__(self, settings: Settings, *, log_level: str = "warning") -> None:
        self.port = free_port()
        self.app = create_app(settings)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level=log_level))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture
def live(settings):
    with LiveServer(settings) as server:
        yield server
