"""A GitHub REST API client, sync and async, built on restwell.

``GitHubClient`` (urllib3 by default, or your ``requests``/``httpx2``/``httpx`` session) and
``AsyncGitHubClient`` (aiohttp by default, or your ``httpx.AsyncClient``/``httpx2.AsyncClient``/
``aiohttp.ClientSession``) share one sans-I/O core: request building, typed models, ``Link``
pagination, rate-limit handling and error mapping are decided once.

Rate limits are handled the way GitHub documents them, loudly: a spent quota is waited for
until its reset (capped by ``max_rate_limit_wait``, else :class:`RateLimitExceeded` carrying the
reset time; or raised at once with ``on_rate_limit="raise"``), a secondary limit honours
``Retry-After`` or backs off from 60 s, and every wait is logged at WARNING and reported to
hooks. Concurrent tasks share one limiter, so they wait once, together.

Example::

    from restwell.github import GitHubClient

    with GitHubClient(base_url="http://127.0.0.1:8080") as gh:
        print(gh.get_user("user1").public_repos)
"""

from restwell.github._bench import BenchResult, run_bench
from restwell.github._client import AsyncGitHubClient, AsyncPaginator, GitHubClient, Paginator
from restwell.github._core import API_VERSION, DEFAULT_BASE_URL, MEDIA_TYPE
from restwell.github._errors import (
    BadCredentials,
    Forbidden,
    GitHubAPIError,
    GitHubError,
    InvalidResponse,
    NotFound,
    RateLimitExceeded,
    ValidationFailed,
)
from restwell.github._models import FieldError, RateLimit, RateLimitWait, Repo, User
from restwell.github._ratelimit import GitHubRetryPolicy, RateLimiter, Refusal, classify_refusal

__all__ = [
    "API_VERSION",
    "DEFAULT_BASE_URL",
    "MEDIA_TYPE",
    "AsyncGitHubClient",
    "AsyncPaginator",
    "BadCredentials",
    "BenchResult",
    "FieldError",
    "Forbidden",
    "GitHubAPIError",
    "GitHubClient",
    "GitHubError",
    "GitHubRetryPolicy",
    "InvalidResponse",
    "NotFound",
    "Paginator",
    "RateLimit",
    "RateLimitExceeded",
    "RateLimitWait",
    "RateLimiter",
    "Refusal",
    "Repo",
    "User",
    "ValidationFailed",
    "classify_refusal",
    "run_bench",
]
