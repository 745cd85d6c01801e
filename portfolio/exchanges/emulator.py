"""Pointing a client at the offline emulator (sandbox/emulator/): development and tests only.

Switched on by EXCHANGE_EMULATOR_URL alone: the sync services pass it as `emulator_url`, and
production leaves it empty, so nothing here runs there. Pure functions over ccxt's nested
`exchange.urls['api']` structure: every `https://HOST/rest` becomes `{emulator}/HOST/rest`, and a
URL left pointing at a real host is refused rather than sent.
"""

from __future__ import annotations

from typing import Any

SCHEME = "https://"


def point_at_emulator(api_urls: Any, base_url: str, hostname: str | None = None) -> Any:
    """Rewrite every `https://HOST/rest` in the nested `exchange.urls['api']` structure
    (strings, dicts, lists) to `{base_url}/HOST/rest`, after substituting `{hostname}`.

    Returns a new structure; the input is left untouched (ccxt shares it between instances).
    Pass the result as `urls={'api': ...}` or assign it to `exchange.urls['api']`.
    """
    base = base_url.rstrip("/")
    if isinstance(api_urls, dict):
        return {k: point_at_emulator(v, base, hostname) for k, v in api_urls.items()}
    if isinstance(api_urls, list | tuple):
        return [point_at_emulator(v, base, hostname) for v in api_urls]
    if isinstance(api_urls, str):
        return rewrite(api_urls, base, hostname)
    return api_urls


def rewrite(url: str, base: str, hostname: str | None) -> str:
    if hostname is not None:
        url = url.replace("{hostname}", hostname)
    if url.startswith(SCHEME):
        return f"{base}/{url[len(SCHEME) :]}"
    return url


def leftover_https(api_urls: Any) -> list[str]:
    """Every string in the structure that would still reach a real host."""
    if isinstance(api_urls, dict):
        return [u for v in api_urls.values() for u in leftover_https(v)]
    if isinstance(api_urls, list | tuple):
        return [u for v in api_urls for u in leftover_https(v)]
    if isinstance(api_urls, str) and ("https://" in api_urls or "{hostname}" in api_urls):
        return [api_urls]
    return []


def assert_offline(api_urls: Any) -> None:
    """Raise if any URL would still leave the machine (or still has a {hostname} template)."""
    left = leftover_https(api_urls)
    if left:
        raise ValueError(f"URLs not pointed at the emulator: {left}")
