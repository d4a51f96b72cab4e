"""A real TensorBoard on a free loopback port, for tests that read it over HTTP or in a browser."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ALL_STATUSES = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str, body: dict | None = None, timeout: float = 10):
    """GET ``url`` (POST ``body`` as JSON when given) and decode the JSON answer."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


@contextlib.contextmanager
def tensorboard(logdir: Path, wait_for_runs: int = 1):
    """Serve ``logdir``; yields the base URL once ``wait_for_runs`` runs are listed, and stops
    the process after (killed if it does not stop in 10 s)."""
    for _ in range(3):  # the free port may be taken between probing and binding
        port = free_port()
        process = subprocess.Popen(  # the folder as `make tensorboard` names it, "outputs"
            [sys.executable, "-m", "tensorboard.main", "--logdir", logdir.name,
             "--host", "127.0.0.1", "--port", str(port), "--load_fast", "false",
             "--reload_interval", "1"],
            cwd=logdir.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while process.poll() is None and time.monotonic() < deadline:
            try:
                if len(get_json(f"{base}/data/runs", timeout=2)) >= wait_for_runs:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
        if process.poll() is None:
            break
    else:
        raise RuntimeError(f"tensorboard did not start: {process.stdout.read()[-2000:]}")
    try:
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def default_columns(base: str) -> tuple[list[str], list[str]]:
    """The HParams table's columns ticked on first load, as TensorBoard's own page picks them:
    the first five hparams after putting those that differ first, the first five metrics."""
    experiment = get_json(
        f"{base}/data/plugin/hparams/experiment", {"experimentName": "", "hparamsLimit": 1000}
    )
    hparams = sorted(experiment["hparamInfos"], key=lambda info: not info.get("differs", False))
    metrics = experiment["metricInfos"]
    return [info["name"] for info in hparams[:5]], [info["name"]["tag"] for info in metrics[:5]]


def session_groups(base: str) -> list[dict]:
    body = {"experimentName": "", "allowedStatuses": ALL_STATUSES, "startIndex": 0,
            "sliceSize": 100}  # fmt: skip
    return get_json(f"{base}/data/plugin/hparams/session_groups", body)["sessionGroups"]


def dashboard_groups(tags) -> list[str]:
    """The groups of the Scalars (Time Series) dashboard, in its order: TensorBoard 2.21's web app
    sorts the tags, groups them by the part before the first ``/`` in the order of their first
    tag, and opens the first two (tags without digits sort as Python sorts strings)."""
    return list(dict.fromkeys(tag.split("/", 1)[0] for tag in sorted(tags)))
