"""An aiohttp session for fsspec's HTTP filesystem that only connects where the policy allows.

The check lives in the session's DNS resolver, so the addresses judged are exactly the
ones connected to (no window for DNS rebinding between a check and the download), and
every redirect hop is judged the same way. aiohttp skips the resolver for hosts written
as IP addresses, so those are checked when a redirect points at one; the first URL's
host is checked by the caller before any request.
"""

from __future__ import annotations

import socket
from functools import partial
from types import SimpleNamespace

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from neuroshorts.errors import Refused
from neuroshorts.media.policy import Policy

_WEB_SCHEMES = ("http", "https")


class GuardedResolver(AbstractResolver):
    """The default resolver, refusing hosts whose addresses the policy does not allow."""

    def __init__(self, policy: Policy) -> None:
        self._policy = policy
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        self._policy.check_host(host, [result["host"] for result in results])
        return results

    async def close(self) -> None:
        await self._inner.close()


async def _check_redirect(
    policy: Policy,
    session: aiohttp.ClientSession,
    context: SimpleNamespace,
    params: aiohttp.TraceRequestRedirectParams,
) -> None:
    location = params.response.headers.get("Location")
    if location is None:
        return
    target = params.url.join(URL(location))
    if target.scheme not in _WEB_SCHEMES:
        raise Refused(f"redirects to {str(target)!r}", "a redirect to an http(s) URL")
    policy.check_url(str(target))


async def guarded_client(policy: Policy, **kwargs: object) -> aiohttp.ClientSession:
    """A session for `fsspec.implementations.http.HTTPFileSystem(get_client=...)`."""
    tracing = aiohttp.TraceConfig()
    tracing.on_request_redirect.append(partial(_check_redirect, policy))
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=GuardedResolver(policy)),
        trace_configs=[tracing],
        # No overall limit (a large video on a slow link is fine), but a server that
        # stops answering does not hold a worker forever.
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=15, sock_read=60),
        # Proxies from the environment would resolve the target themselves, out of
        # the resolver's sight.
        trust_env=False,
        **kwargs,
    )
