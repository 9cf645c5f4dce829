"""The README's walk-through, run as a reader would: save its files, start the worker it
names, run its script, start the FastAPI example under uvicorn and send its curl lines.

The commands run verbatim except for the port (8000 → a free one) and the job id the
reader would paste in place of `01a232c9-…`; outputs are compared with what the README
shows, with ids and tokens masked."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.live import free_port
from tests.docs_examples.markdown import Block, blocks

README = blocks("README.md")
BIN = Path(sys.executable).parent
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SHOWN_ID = "01a232c9-…"


def _find(lang: str, needle: str) -> Block:
    found = [b for b in README if b.lang == lang and needle in b.text]
    assert len(found) == 1, f"expected one {lang} block with {needle!r} in README.md"
    return found[0]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = "."
    return env


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[Path]:
    """A folder holding the README's files, with its worker running there."""
    for block in README:
        if block.lang == "python" and block.file_name:
            (tmp_path / block.file_name).write_text(block.text)
    [command] = _find("console", "baton worker docpipe:app").commands()
    worker = subprocess.Popen(command, shell=True, cwd=tmp_path, env=_env())
    try:
        yield tmp_path
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def _serve(folder: Path, port: int) -> subprocess.Popen[bytes]:
    """`uvicorn web:api`, as the README says to run it, on a free port."""
    server = subprocess.Popen(["uvicorn", "web:api", "--port", str(port)], cwd=folder, env=_env())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/baton/healthz").status_code == 200:
                return server
        except httpx.TransportError:
            pass
        assert server.poll() is None, "uvicorn web:api exited"
        time.sleep(0.1)
    server.kill()
    raise AssertionError("uvicorn web:api did not answer within 60 s")


def _masked(text: str, job_id: str) -> str:
    text = text.replace(job_id, SHOWN_ID)
    return re.sub(r"token=[^\"&\s]+", "token=…", text)


def test_the_readme_walk_through_runs_as_written(reader: Path) -> None:
    script = _find("python", "asyncio.run(main())")
    shown = _find("text", "succeeded doc_id=").text.splitlines()
    done = subprocess.run(
        [sys.executable, "-c", script.text],
        cwd=reader,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    printed = done.stdout.splitlines()
    assert UUID.sub("ID", printed[0]) == UUID.sub("ID", shown[0])
    assert printed[1:] == shown[1:]

    port = free_port()
    server = _serve(reader, port)
    try:
        curls = _find("console", "curl -s -X POST")
        enqueue, watch = curls.commands()
        answer = subprocess.run(
            enqueue.replace("localhost:8000", f"localhost:{port}"),
            shell=True,
            cwd=reader,
            capture_output=True,
            text=True,
            timeout=60,
        )
        body = json.loads(answer.stdout)
        expected = json.loads(curls.output_after(0)[0])
        assert json.loads(_masked(answer.stdout, body["id"])) == expected

        stream = subprocess.run(
            watch.replace("localhost:8000", f"localhost:{port}").replace(SHOWN_ID, body["id"]),
            shell=True,
            cwd=reader,
            capture_output=True,
            text=True,
            timeout=120,
        )
        events = re.findall(r"^event: (\S+)$", stream.stdout, re.MULTILINE)
        shown_events = re.findall(r"^event: (\S+)$", "\n".join(curls.output_after(1)), re.M)
        assert events[-1] == "job.succeeded", stream.stdout
        positions = [events.index(e) for e in shown_events]
        assert positions == sorted(positions), (events, shown_events)
        assert '"message":"parsed"' in stream.stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
