"""`baton jobs …` and `baton migrate` in-process through Typer's CliRunner, on a real
SQLite file seeded by an in-process burst worker."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import baton
from baton.cli.main import cli
from tests.cli.conftest import SAMPLE, baton_process, finish
from tests.cli.sample_app import make_app
from tests.helpers import until

runner = CliRunner(env={"BATON_URL": None, "BATON_APP": None})


@dataclass(frozen=True)
class Seeded:
    url: str
    report: str  # succeeded, with a step and progress
    boom: str  # failed, with a traceback
    later: str  # still queued (nobody works on its queue)


@pytest.fixture
def seeded(db_url: str) -> Seeded:
    async def seed() -> Seeded:
        app = make_app(db_url)
        try:
            report = await app.enqueue("report", (21,))
            await next_millisecond()
            boom = await app.enqueue("boom", ("kaboom [red]not markup[/red]",))
            await next_millisecond()
            later = await app.enqueue("nap", (0.0,), queue="later")
            await baton.run_worker(app, baton.WorkerConfig(burst=True))
            return Seeded(db_url, report.id, boom.id, later.id)
        finally:
            await app.aclose()

    return asyncio.run(seed())


async def next_millisecond() -> None:
    """Job ids sort by their millisecond only (baton/ids.py has no in-millisecond counter),
    so jobs meant to list in creation order are enqueued in different milliseconds."""
    start = time.time_ns() // 1_000_000
    await until(lambda: time.time_ns() // 1_000_000 > start, interval=0.0005)


def baton_cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(cli, list(args), env=env)


def as_json(result: Result) -> object:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def one_line_error(result: Result, code: int, *fragments: str) -> str:
    """The failure was one line on stderr (no traceback), nothing on stdout, with `code`."""
    assert result.exit_code == code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def test_list_json(seeded: Seeded) -> None:
    data = as_json(baton_cli("jobs", "list", "--url", seeded.url, "--json"))
    assert isinstance(data, list)
    by_id = {job["id"]: job for job in data}
    assert [j["id"] for j in data] == [seeded.later, seeded.boom, seeded.report]  # newest first
    assert by_id[seeded.report]["status"] == "succeeded"
    assert by_id[seeded.report]["result"] == {"n": 21, "doubled": 42}
    assert by_id[seeded.report]["progress"] == 1.0  # done
    assert by_id[seeded.boom]["status"] == "failed"
    assert by_id[seeded.boom]["error"]["type"] == "ValueError"
    assert by_id[seeded.later] | {"queue": "later", "status": "queued"} == by_id[seeded.later]
    for job in data:
        assert datetime.fromisoformat(job["created_at"]).tzinfo is not None  # ISO 8601, UTC


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--status", "failed"], ["boom"]),
        (["--queue", "later"], ["later"]),
        (["--pipeline", "report"], ["report"]),
        (["--tenant", "someone-else"], []),
        (["--limit", "2"], ["later", "boom"]),
    ],
)
def test_list_filters(seeded: Seeded, flags: list[str], expected: list[str]) -> None:
    data = as_json(baton_cli("jobs", "list", "--url", seeded.url, "--json", *flags))
    assert isinstance(data, list)
    assert [j["id"] for j in data] == [getattr(seeded, name) for name in expected]


def test_list_table(seeded: Seeded) -> None:
    result = baton_cli("jobs", "list", "--url", seeded.url)
    assert result.exit_code == 0, result.output
    header, rows = _table(result.stdout)
    assert header == ["id", "pipeline", "status", "attempts", "progress", "step", "created",
                      "age/duration"]  # fmt: skip
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
        (seeded.later, "nap", "queued", "0", "0%"),
        (seeded.boom, "boom", "failed", "1", "0%"),
        (seeded.report, "report", "succeeded", "1", "100%"),
    ]
    assert rows[0][-2] == "age" and rows[2][-2] == "took"


def test_list_nothing(db_url: str) -> None:
    assert as_json(baton_cli("jobs", "list", "--url", db_url, "--json")) == []
    result = baton_cli("jobs", "list", "--url", db_url)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "no jobs match\n")


def test_show_json(seeded: Seeded) -> None:
    data = as_json(baton_cli("jobs", "show", seeded.report, "--url", seeded.url, "--json"))
    assert isinstance(data, dict)
    assert (data["id"], data["status"], data["attempts"]) == (seeded.report, "succeeded", 1)
    assert data["result"] == {"n": 21, "doubled": 42}
    (step,) = data["steps"]
    assert (step["key"], step["status"], step["attempts"]) == ("0:double", "succeeded", 1)
    assert step["duration"] >= 0
    types = [e["type"] for e in data["events"]]
    assert types[0] == "job.enqueued" and types[-1] == "job.succeeded"
    assert "step.succeeded" in types and "job.progress" in types
    assert [e["id"] for e in data["events"]] == list(range(1, len(types) + 1))
    datetime.fromisoformat(data["events"][0]["at"])


def test_show_failed_job_for_people(seeded: Seeded) -> None:
    result = baton_cli("jobs", "show", seeded.boom, "--url", seeded.url)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"job {seeded.boom}  failed" in out
    assert "ValueError: kaboom [red]not markup[/red]" in out  # user text is never Rich markup
    assert "Traceback (most recent call last)" in out and 'sample_app.py", line' in out
    for section in ("steps", "last error", "events (4)"):
        assert f"\n{section}\n" in out
    for event in ("job.enqueued", "job.claimed", "step.failed", "job.failed"):
        assert event in out


def test_show_with_the_app_decodes_by_type_hints(seeded: Seeded) -> None:
    raw = baton_cli("jobs", "show", seeded.report, "--url", seeded.url)
    typed = baton_cli("jobs", "show", seeded.report, "--app", SAMPLE, "--url", seeded.url)
    assert raw.exit_code == typed.exit_code == 0, raw.output + typed.output
    assert "result type" not in raw.stdout and '"doubled": 42' in raw.stdout
    assert "result type  tests.cli.sample_app.Report" in typed.stdout
    assert '"doubled": 42' in typed.stdout
    plain = as_json(baton_cli("jobs", "show", seeded.report, "--url", seeded.url, "--json"))
    with_app = baton_cli("jobs", "show", seeded.report, "--app", SAMPLE, "--url", seeded.url,
                         "--json")  # fmt: skip
    assert as_json(with_app) == plain  # the same JSON either way


async def test_app_and_url_from_the_environment(seeded: Seeded) -> None:
    """$BATON_APP and $BATON_URL stand in for --app and --url (in a real process)."""
    env = {"BATON_APP": SAMPLE}
    async with baton_process("jobs", "list", "--json", url=seeded.url, **env) as proc:
        code, out, err = await finish(proc)
    assert code == 0, err
    assert {j["id"] for j in json.loads(out)} == {seeded.report, seeded.boom, seeded.later}


def test_retry_a_failed_job(seeded: Seeded) -> None:
    result = baton_cli("jobs", "retry", seeded.boom, "--url", seeded.url)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"job {seeded.boom} queued\n"
    again = as_json(baton_cli("jobs", "retry", seeded.boom, "--url", seeded.url, "--json"))
    assert isinstance(again, dict) and (again["id"], again["status"]) == (seeded.boom, "queued")


def test_retry_a_succeeded_job_changes_nothing(seeded: Seeded) -> None:
    result = baton_cli("jobs", "retry", seeded.report, "--url", seeded.url, "--json")
    data = as_json(result)
    assert isinstance(data, dict) and data["status"] == "succeeded"
    assert result.stderr == f"job {seeded.report} is succeeded: only failed, cancelled or " \
                            "expired jobs can be retried\n"  # fmt: skip


def test_cancel(seeded: Seeded) -> None:
    data = as_json(baton_cli("jobs", "cancel", seeded.later, "--url", seeded.url, "--json"))
    assert isinstance(data, dict) and (data["id"], data["status"]) == (seeded.later, "cancelled")
    assert data["error"]["type"] == "Cancelled"
    result = baton_cli("jobs", "cancel", seeded.report, "--url", seeded.url)
    assert result.exit_code == 0
    assert result.stdout == f"job {seeded.report} succeeded\n"
    assert "it had already ended" in result.stderr


@pytest.mark.parametrize("command", ["show", "retry", "cancel"])
def test_unknown_job_exits_1(db_url: str, command: str) -> None:
    result = baton_cli("jobs", command, "no-such-job", "--url", db_url)
    assert one_line_error(result, 1) == "error: no job no-such-job"


@pytest.mark.parametrize(
    ("app", "fragment"),
    [
        ("tests.cli.sample_app", "APP must look like module:attribute"),
        ("tests.cli.sample_app:", "APP must look like module:attribute"),
        ("tests.cli.no_such_module:app", "no module named 'tests.cli.no_such_module'"),
        ("tests.cli.sample_app:missing", "module 'tests.cli.sample_app' has no attribute"),
        ("tests.cli.sample_app:not_an_app", "is a str, not a baton.App"),
    ],
)
def test_bad_app_exits_2(db_url: str, app: str, fragment: str) -> None:
    one_line_error(baton_cli("jobs", "list", "--app", app, "--url", db_url), 2, fragment)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("mysql://scott:tiger@db.example/baton", "unknown database URL"),
        ("nonsense", "unknown database URL 'nonsense'"),
        ("sqlite://", "SQLite URL has no path"),
        ("postgresql://scott:tiger@db.example/baton?pool_sise=3", "unknown PostgreSQL URL option"),
    ],
)
def test_bad_url_exits_2(url: str, fragment: str) -> None:
    line = one_line_error(baton_cli("jobs", "list", "--url", url), 2, fragment)
    assert "tiger" not in line


def test_unreachable_postgres_is_one_line_without_the_password() -> None:
    url = "postgresql://scott:tiger@127.0.0.1:1/baton?pool_timeout=0.5"
    line = one_line_error(baton_cli("jobs", "list", "--url", url), 1, "unavailable")
    assert "tiger" not in line


def test_sqlite_folder_missing_exits_2(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/missing/baton.db"
    for args in (["jobs", "list"], ["jobs", "show", "x"], ["migrate"]):
        result = baton_cli(*args, "--url", url)
        one_line_error(result, 2, "SQLite database folder does not exist", f"{tmp_path}/missing")
    assert not (tmp_path / "missing").exists()


def test_migrate(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/new.db"
    result = baton_cli("migrate", "--url", url)
    assert (result.exit_code, result.stdout) == (0, f"database is up to date: {url}\n")
    assert (tmp_path / "new.db").exists()
    assert as_json(baton_cli("migrate", "--json", env={"BATON_URL": url})) == {
        "url": url,
        "migrated": True,
    }


def test_version_and_help() -> None:
    assert baton_cli("--version").stdout == f"baton {baton.__version__}\n"
    result = baton_cli("jobs", "--help")
    assert result.exit_code == 0
    assert all(cmd in result.stdout for cmd in ("list", "show", "retry", "cancel"))


def _table(text: str) -> tuple[list[str], list[list[str]]]:
    """A Rich SIMPLE_HEAD table as its header cells and rows split on whitespace."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    header, rule, *rows = lines
    assert set(rule) <= {"─", " "}
    return header.split(), [row.split() for row in rows]
