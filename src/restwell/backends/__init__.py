"""Backends: the HTTP libraries restwell drives (see :mod:`restwell.backends._base`)."""

from restwell.backends._aiohttp import AiohttpBackend
from restwell.backends._base import AsyncBackend, SyncBackend
from restwell.backends._urllib3 import Urllib3Backend

__all__ = ["AiohttpBackend", "AsyncBackend", "SyncBackend", "Urllib3Backend"]
