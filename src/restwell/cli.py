"""The ``restwell`` command: ``check``, ``serve``, ``demo``, ``github`` and ``bench``.

Needs the ``cli`` extra (typer, rich); ``serve`` and ``demo`` also need ``server``. A missing
extra is reported by name, and user mistakes end with a one-line error, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

try:
    import typer
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
except ImportError as exc:  # pragma: no cover - exercised by installing without extras
    _missing = exc.name

    def main() -> None:
        """Entry point when the ``cli`` extra is missing: say what to install."""
        sys.stderr.write(
            f"restwell's command line needs the 'cli' extra ({_missing} is missing): "
            "pip install 'restwell[cli]'\n"
        )
        raise SystemExit(2)

else:
    import restwell
    from restwell import Backoff, RetryPolicy, checker

    app = typer.Typer(
        help="restwell: resilient REST clients, a reference REST API, and tools around them.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    console = Console()

    def _need_server() -> Any:
        try:
            import restwell.server as server
        except ImportError as exc:
            console.print(
                f"[red]this command needs the 'server' extra ({exc.name} is missing):[/] "
                "pip install 'restwell[server]'"
            )
            raise typer.Exit(2) from None
        return server

    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
        port: int = typer.Option(8000, help="Port to listen on."),
        database_url: str | None = typer.Option(
            None, envvar="DATABASE_URL", help="SQLAlchemy URL (default: ./restwell.db)."
        ),
        error_rate: float = typer.Option(0.0, help="Fraction of requests answered 503."),
        drop_rate: float = typer.Option(0.0, help="Fraction of connections dropped."),
        latency: float = typer.Option(0.0, help="Seconds added to every request."),
        burst_429: int = typer.Option(0, help="Requests allowed per window before 429s."),
        fail_first: int = typer.Option(0, help="Answer the first N requests with 503."),
        seed: int | None = typer.Option(None, help="Seed of the fault injection RNG."),
    ) -> None:
        """Run the reference REST API (FastAPI + uvicorn) with optional fault injection."""
        server = _need_server()
        try:
            base = server.ServerSettings.from_env()
            faults = server.FaultSettings(
                error_rate=error_rate,
                drop_rate=drop_rate,
                latency=latency,
                burst_429=burst_429,
                fail_first=fail_first,
                seed=seed,
            )
            settings = server.ServerSettings(
                database_url=database_url or base.database_url,
                idempotency_ttl=base.idempotency_ttl,
                cache_max_age=base.cache_max_age,
                faults=faults if faults.enabled else base.faults,
            )
        except ValueError as exc:
            console.print(f"[red]invalid setting:[/] {exc}")
            raise typer.Exit(2) from None
        server.run(settings, host=host, port=port)

    def _outcome(response: restwell.Response) -> str:
        if not response.retries:
            return "first try"
        return "; ".join(f"#{r.attempt} {r.outcome}" for r in response.retries)

    @app.command()
    def demo(
        error_rate: float = typer.Option(0.2, help="Fraction of requests the server fails."),
        drop_rate: float = typer.Option(0.1, help="Fraction of connections it drops."),
        items: int = typer.Option(3, min=1, max=50, help="Items to put through the lifecycle."),
        seed: int = typer.Option(7, help="Seed of the server's fault injection."),
    ) -> None:
        """Show the client keeping its promises against a faulty local REST API.

        Starts the reference server with injected 503s and dropped connections, runs the
        create/read/replace/merge/delete lifecycle through ``restwell.Client`` (idempotency
        keys on, so even POST and PATCH are retried safely), then reads everything back
        concurrently with ``restwell.AsyncClient.gather``, and checks that no write was lost
        or duplicated.
        """
        server = _need_server()
        # The injected drops make uvicorn log an error each; they are the point, not news.
        logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
        with tempfile.TemporaryDirectory(prefix="restwell-demo-") as tmp:
            settings = server.ServerSettings(
                database_url=f"sqlite:///{Path(tmp) / 'demo.db'}",
                faults=server.FaultSettings(
                    error_rate=error_rate, drop_rate=drop_rate, retry_after=1, seed=seed
                ),
            )
            with server.serve_in_thread(settings) as base_url:
                ok = _run_demo(base_url, items)
        raise typer.Exit(0 if ok else 1)

    def _run_demo(base_url: str, count: int) -> bool:
        policy = RetryPolicy(max_attempts=8, backoff=Backoff(base=0.05, cap=1.0), max_wait=5)
        table = Table(title=f"restwell.Client against {base_url} (faults injected)")
        for column in ("step", "request", "status", "attempts", "retried after"):
            table.add_column(column)
        started = time.perf_counter()
        ids: list[int] = []
        with restwell.Client(
            base_url, retry=policy, idempotency_keys=True, budget=False, breaker=False
        ) as client:

            def step(name: str, call: Callable[[], restwell.Response]) -> restwell.Response:
                response = call()
                table.add_row(
                    name,
                    f"{response.request.method} {response.request.url.removeprefix(base_url)}",
                    str(response.status_code),
                    str(response.attempts),
                    _outcome(response),
                )
                return response

            for n in range(count):
                body = {"name": f"widget {n}", "price": 9.5 + n, "tags": ["demo"]}
                created = step("create", lambda b=body: client.post("/items", json=b))  # type: ignore[misc]
                item_id = int(created.json()["id"])
                ids.append(item_id)
                path = f"/items/{item_id}"
                step("read", lambda p=path: client.get(p))  # type: ignore[misc]
                replaced = {"name": f"widget {n} v2", "price": 20.0 + n}
                step("replace", lambda p=path, b=replaced: client.put(p, json=b))  # type: ignore[misc]
                step("merge", lambda p=path: client.patch(p, json={"tags": ["patched"]}))  # type: ignore[misc]
            gone = ids.pop()
            step("delete", lambda: client.delete(f"/items/{gone}"))
            try:
                client.get_json(f"/items/{gone}")
                missing_ok = False
            except restwell.errors.NotFound as exc:
                table.add_row("read deleted", f"GET /items/{gone}", "404", "1", type(exc).__name__)
                missing_ok = True
        console.print(table)

        async def read_back() -> list[restwell.Result[Any]]:
            async with restwell.AsyncClient(
                base_url, retry=policy, budget=False, breaker=False
            ) as aclient:
                urls = (f"/items/{i}" for i in ids)
                return await aclient.gather((aclient.get_json(u) for u in urls), limit=10)

        results = asyncio.run(read_back())
        elapsed = time.perf_counter() - started
        with restwell.Client(base_url, retry=policy, budget=False, breaker=False) as client:
            listed = client.get_json("/items", params={"limit": 100})["items"]
        names = sorted(r.value["name"] for r in results if r.ok and r.value)
        failures = [r.error for r in results if not r.ok]
        expected = sorted(f"widget {n} v2" for n in range(count - 1))
        exact = names == expected and len(listed) == count - 1
        good = exact and not failures and missing_ok
        console.print(
            f"read back {len(names)} item(s) concurrently with AsyncClient.gather; the server "
            f"holds {len(listed)} (expected {count - 1}): "
            f"{'no write lost or duplicated' if exact else 'MISMATCH'}"
            f"{'' if not failures else f'; errors: {failures}'}"
        )
        verdict = "[green]all promises kept[/]" if good else "[red]something went wrong[/]"
        console.print(f"{verdict} in {elapsed:.2f}s")
        return good

    @app.command()
    def check(
        url: str | None = typer.Argument(
            None,
            help="Collection URL, e.g. http://127.0.0.1:8000/items. Without one, the embedded "
            "reference server is started (SQLite in a temporary directory) and checked.",
            show_default=False,
        ),
        body: str | None = typer.Option(
            None, help="Sample JSON object to POST (default: a small widget item)."
        ),
        id_field: str = typer.Option(
            "id", help="Member holding a resource's id (used when there is no Location)."
        ),
        header: list[str] = typer.Option(  # noqa: B008 - typer's way
            [], "--header", "-H", help="Extra request header 'Name: value' (repeatable)."
        ),
        timeout: float = typer.Option(10.0, min=0.001, help="Seconds allowed per request."),
        retries: int = typer.Option(
            0, min=0, help="Retries of failed idempotent requests (0: none, nothing hidden)."
        ),
        json_output: bool = typer.Option(False, "--json", help="Print the report as JSON."),
        junit_xml: Path | None = typer.Option(  # noqa: B008 - typer's way
            None,
            "--junit-xml",
            help="Also write the report as JUnit XML to this file.",
            dir_okay=False,
        ),
        quiet: bool = typer.Option(
            False, "--quiet", "-q", help="No progress or table: failures and the summary only."
        ),
    ) -> None:
        """Check that a REST API keeps the HTTP contract: lifecycle and semantics.

        Runs POST, GET, PUT, PATCH and DELETE on one resource of the collection,
        and the checks around them: no 5xx, bad input refused, safe and idempotent
        methods, HEAD, 405 + Allow, conditional requests, Idempotency-Key, pagination.

        Exit code: 0 when nothing failed, 1 when a check failed, 2 for usage errors.
        """
        errors = Console(stderr=True)

        def usage_error(message: str) -> NoReturn:
            errors.print(f"[red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
            raise typer.Exit(2)

        try:
            target = None if url is None else checker.validate_url(url)
            sample = None if body is None else checker.parse_body(body)
            headers = dict(checker.parse_header(h) for h in header)
        except ValueError as exc:
            usage_error(str(exc))
        if not id_field:
            usage_error("--id-field must not be empty")
        if junit_xml is not None and not junit_xml.parent.is_dir():
            usage_error(f"--junit-xml: the directory {str(junit_xml.parent)!r} does not exist")

        def run(collection: str) -> checker.CheckReport:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            progress = Progress(
                TextColumn("checking {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=errors,
                transient=True,
                disable=quiet or json_output or not errors.is_terminal,
            )
            with progress:
                task = progress.add_task("", total=len(checker.CHECKS))

                def step(item: checker.Check, index: int, total: int) -> None:
                    progress.update(task, completed=index, description=item.title)

                report = checker.run_checks(
                    collection,
                    body=sample,
                    id_field=id_field,
                    headers=headers,
                    timeout=timeout,
                    retries=retries,
                    on_progress=step,
                )
                progress.update(task, completed=len(checker.CHECKS))
            return report

        if target is None:
            server = _need_server()
            with contextlib.ExitStack() as stack:
                tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="restwell-")))
                settings = server.ServerSettings(database_url=f"sqlite:///{tmp / 'check.db'}")
                try:
                    base_url = stack.enter_context(server.serve_in_thread(settings))
                except RuntimeError as exc:
                    errors.print(
                        f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
                    )
                    raise typer.Exit(1) from None
                if not (quiet or json_output):
                    errors.print(f"started the reference server at {base_url}", style="dim")
                report = run(f"{base_url}/items")
        else:
            report = run(target)

        if json_output:
            typer.echo(checker.to_json(report))
        elif quiet:
            for result in report.failed:
                request = f" [{result.request.short()}]" if result.request else ""
                line = f"{result.id}: expected {result.expected}; got {result.got}{request}"
                console.print(f"[red]FAIL[/] {escape(line)}", highlight=False, soft_wrap=True)
        else:
            console.print(checker.render_table(report))
        if not json_output:
            style = "green" if report.ok else "bold red"
            console.print(f"[{style}]{report.summary()}[/]", highlight=False)
        if junit_xml is not None:
            try:
                junit_xml.write_text(checker.to_junit_xml(report), encoding="utf-8")
            except OSError as exc:
                usage_error(f"cannot write {str(junit_xml)!r}: {exc.strerror or exc}")
        raise typer.Exit(report.exit_code)

    # -- restwell github / restwell bench ------------------------------------------------------

    github_app = typer.Typer(
        help="Query the GitHub REST API with restwell's GitHub client (tables, or --json). "
        "Here, point --base-url at a fake GitHub ('restwell github fake').",
        no_args_is_help=True,
    )
    bench_app = typer.Typer(help="Benchmarks against local servers.", no_args_is_help=True)
    app.add_typer(github_app, name="github")
    app.add_typer(bench_app, name="bench")

    _GITHUB_URL = "https://api.github.com"
    _BASE_URL_OPTION = typer.Option(
        _GITHUB_URL, "--base-url", help="API root (GitHub Enterprise: https://HOST/api/v3)."
    )
    _TOKEN_OPTION = typer.Option(
        None, "--token", envvar="GITHUB_TOKEN", show_envvar=True, help="Token to send."
    )
    _JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of a table.")

    def _fail(message: str, code: int) -> NoReturn:
        Console(stderr=True).print(
            f"[red]error:[/] {escape(message)}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(code)

    def _github(base_url: str, token: str | None, call: Callable[[Any], Any]) -> Any:
        """Run ``call(client)``; errors end the command with one line (exit 1, or 2 for usage)."""
        from restwell import github

        errors = Console(stderr=True)

        def waiting(event: github.RateLimitWait) -> None:
            errors.print(
                f"[yellow]rate limit:[/] {escape(event.reason)}; waiting {event.seconds:.0f}s "
                f"until {event.reset_datetime:%H:%M:%S} UTC",
                highlight=False,
            )

        try:
            with github.GitHubClient(
                token or "", base_url=base_url, on_rate_limit_wait=waiting
            ) as client:
                return call(client)
        except github.GitHubError as exc:
            _fail(str(exc), 1)
        except restwell.errors.InvalidURL as exc:
            _fail(str(exc), 2)
        except restwell.RestwellError as exc:
            _fail(str(exc), 1)
        except ValueError as exc:
            _fail(str(exc), 2)
        except Exception as exc:  # never a traceback
            _fail(f"unexpected {type(exc).__name__}: {exc}", 1)

    def _plain(value: Any) -> Any:
        """A model (or anything inside one) as JSON-ready data."""
        import dataclasses
        import datetime

        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {
                f.name: _plain(getattr(value, f.name))
                for f in dataclasses.fields(value)
                if f.name != "raw"
            }
        if isinstance(value, datetime.datetime):
            return value.isoformat().replace("+00:00", "Z")
        if isinstance(value, list | tuple):
            return [_plain(v) for v in value]
        if isinstance(value, dict):
            return {k: _plain(v) for k, v in value.items()}
        return value

    def _echo_json(value: Any) -> None:
        import json

        typer.echo(json.dumps(_plain(value), indent=2, ensure_ascii=False))

    @github_app.command("user")
    def github_user(
        name: str = typer.Argument(..., help="The account's login."),
        base_url: str = _BASE_URL_OPTION,
        token: str | None = _TOKEN_OPTION,
        json_output: bool = _JSON_OPTION,
    ) -> None:
        """Show a GitHub account (GET /users/NAME)."""
        user = _github(base_url, token, lambda gh: gh.get_user(name))
        if json_output:
            _echo_json(user)
            return
        table = Table(title=f"{user.login} ({user.type})", show_header=False)
        table.add_column("field", style="bold")
        table.add_column("value")
        for field, value in _plain(user).items():
            if value not in (None, ""):
                table.add_row(field, escape(str(value)))
        console.print(table)

    @github_app.command("repos")
    def github_repos(
        name: str = typer.Argument(..., help="The account's login."),
        per_page: int = typer.Option(100, min=1, max=100, help="Repositories per page."),
        start_page: int = typer.Option(1, min=1, help="Page to start from (to resume)."),
        base_url: str = _BASE_URL_OPTION,
        token: str | None = _TOKEN_OPTION,
        json_output: bool = _JSON_OPTION,
    ) -> None:
        """List an account's public repositories, every page (GET /users/NAME/repos)."""
        repos = _github(
            base_url,
            token,
            lambda gh: gh.list_repos(name, per_page=per_page, start_page=start_page),
        )
        if json_output:
            _echo_json(repos)
            return
        table = Table(title=f"repositories of {name} ({len(repos)})")
        for column in ("name", "language", "stars", "forks", "pushed", "description"):
            table.add_column(column, justify="right" if column in ("stars", "forks") else "left")
        for repo in repos:
            table.add_row(
                escape(repo.name) + (" [dim](fork)[/]" if repo.fork else ""),
                escape(repo.language or ""),
                str(repo.stargazers_count),
                str(repo.forks_count),
                f"{repo.pushed_at:%Y-%m-%d}" if repo.pushed_at else "",
                escape((repo.description or "")[:60]),
            )
        console.print(table)

    @github_app.command("languages")
    def github_languages(
        full_name: str = typer.Argument(..., metavar="OWNER/REPO", help="The repository."),
        base_url: str = _BASE_URL_OPTION,
        token: str | None = _TOKEN_OPTION,
        json_output: bool = _JSON_OPTION,
    ) -> None:
        """Show a repository's languages, in bytes of code (GET /repos/OWNER/REPO/languages)."""
        from restwell.github._core import split_full_name

        try:
            owner, repo = split_full_name(full_name)
        except ValueError as exc:
            _fail(str(exc), 2)
        languages = _github(base_url, token, lambda gh: gh.get_repo_languages(owner, repo))
        if json_output:
            _echo_json(languages)
            return
        total = sum(languages.values()) or 1
        table = Table(title=f"languages of {owner}/{repo}")
        table.add_column("language")
        table.add_column("bytes", justify="right")
        table.add_column("share", justify="right")
        for language, size in sorted(languages.items(), key=lambda kv: -kv[1]):
            table.add_row(escape(language), f"{size:,}", f"{100 * size / total:.1f}%")
        console.print(table)

    def _duration(text: str) -> float:
        """Seconds from ``100ms``, ``0.1s`` or ``0.1``."""
        value = text.strip().lower()
        scale = 1.0
        if value.endswith("ms"):
            value, scale = value[:-2], 0.001
        elif value.endswith("s"):
            value = value[:-1]
        try:
            seconds = float(value) * scale
        except ValueError:
            raise ValueError(f"expected a duration like 100ms or 0.5s, got {text!r}") from None
        if not 0 <= seconds < 3600:
            raise ValueError(f"the duration must be from 0 to an hour, got {text!r}")
        return seconds

    @github_app.command("fake")
    def github_fake(
        port: int = typer.Option(8080, help="Port to listen on (127.0.0.1)."),
        users: int = typer.Option(10, min=0, help="Users user1..userN."),
        repos_per_user: int = typer.Option(30, min=0, help="Repositories per user."),
        latency: str = typer.Option("0ms", help="Added to every request, e.g. 100ms."),
        rate_limit: int = typer.Option(5000, min=0, help="Requests per window per token."),
        window: float = typer.Option(3600.0, min=0.001, help="Rate-limit window in seconds."),
    ) -> None:
        """Serve a fake GitHub API on 127.0.0.1 (for demos; no internet needed)."""
        try:
            from restwell.server.github import GitHubSettings, run_github
        except ImportError as exc:
            _fail(f"this command needs the 'server' extra ({exc.name} is missing)", 2)
        try:
            settings = GitHubSettings(
                users=users,
                repos_per_user=repos_per_user,
                latency=_duration(latency),
                rate_limit=rate_limit,
                window=window,
            )
        except ValueError as exc:
            _fail(str(exc), 2)
        console.print(f"fake GitHub on http://127.0.0.1:{port} (users user1..user{users})")
        run_github(settings, port=port)

    @bench_app.command("github")
    def bench_github(
        users: int = typer.Option(10, min=1, max=1000, help="Users whose repositories to list."),
        latency: str = typer.Option("100ms", help="Latency of the fake GitHub, e.g. 100ms."),
        repos_per_user: int = typer.Option(30, min=1, max=100, help="Repositories per user."),
        base_url: str | None = typer.Option(
            None,
            "--base-url",
            help="Measure this fake GitHub instead of starting one (users user1..userN).",
        ),
        token: str | None = typer.Option(
            None, "--token", help="Token to send (with --base-url; default GITHUB_TOKEN)."
        ),
        rounds: int = typer.Option(3, min=1, max=50, help="Runs of each mode (medians shown)."),
        json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        """Time listing N users' repositories: sequential (sync) against concurrent (async).

        Starts the fake GitHub with the given latency (unless --base-url), lists each user's
        repositories one after the other with GitHubClient, then all at once with
        AsyncGitHubClient and asyncio.gather, and prints both times and the speedup.
        """
        from restwell.github._bench import run_bench

        try:
            delay = _duration(latency)
        except ValueError as exc:
            _fail(str(exc), 2)
        logins = [f"user{n}" for n in range(1, users + 1)]
        try:
            with contextlib.ExitStack() as stack:
                if base_url is None:
                    try:
                        from restwell.server.github import (
                            GitHubSettings,
                            serve_github_in_process,
                        )
                    except ImportError as exc:
                        _fail(f"this command needs the 'server' extra ({exc.name} is missing)", 2)
                    settings = GitHubSettings(
                        users=users, repos_per_user=repos_per_user, latency=delay
                    )
                    # A process of its own: a server thread would share the interpreter lock
                    # with the clients and make its work look like theirs.
                    url = stack.enter_context(serve_github_in_process(settings))
                    key: str | None = token or "restwell-bench"
                else:
                    url, key, delay = base_url, token, -1.0
                result = run_bench(url, logins, token=key, rounds=rounds)
        except typer.Exit:
            raise
        except restwell.errors.InvalidURL as exc:
            _fail(str(exc), 2)
        except (restwell.RestwellError, RuntimeError) as exc:
            _fail(str(exc), 1)
        summary = {
            "benchmark": "github",
            **result.to_dict(),
            "latency_seconds": None if delay < 0 else delay,
            "ideal_speedup": users,
        }
        if json_output:
            import json

            typer.echo(json.dumps(summary, indent=2))
            return
        where = "" if delay < 0 else f", {delay * 1000:g} ms latency"
        where += f", median of {rounds}" if rounds > 1 else ""
        table = Table(
            title=f"{users} users' repositories ({result.repos} repos, {result.pages} pages{where})"
        )
        table.add_column("mode", no_wrap=True)
        table.add_column("client", no_wrap=True)
        table.add_column("seconds", justify="right", no_wrap=True)
        table.add_column("", no_wrap=True)
        longest = max(result.sequential, result.concurrent) or 1.0
        for label, client, seconds in (
            ("sequential", "GitHubClient", result.sequential),
            ("concurrent", "AsyncGitHubClient, gather", result.concurrent),
        ):
            bar = "█" * max(1, round(24 * seconds / longest))
            table.add_row(label, client, f"{seconds:.3f}", f"[cyan]{bar}[/]")
        console.print(table)
        console.print(
            f"speedup [bold]{result.speedup:.1f}x[/] (at most {users}x: "
            "one round trip per user either way)",
            highlight=False,
        )

    def main() -> None:
        """Entry point of the ``restwell`` command."""
        app()


if __name__ == "__main__":  # pragma: no cover
    main()
