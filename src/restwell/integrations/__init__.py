"""restwell's policies inside the clients people already use.

- :mod:`restwell.integrations.httpx`: ``RetryTransport`` / ``AsyncRetryTransport`` for
  ``httpx2`` (and legacy ``httpx``) clients.
- :mod:`restwell.integrations.requests`: ``RetryAdapter`` to ``mount()`` on a
  ``requests.Session``.
- :mod:`restwell.integrations.aiohttp`: ``RetryMiddleware`` for ``aiohttp.ClientSession``
  (aiohttp >= 3.12 client middlewares).

Each drives the same flow as ``restwell.Client``, so retries, the retry budget, the circuit
breaker, rate-limit pacing and deadlines behave identically; the library keeps following
redirects and raising its own exceptions.
"""
