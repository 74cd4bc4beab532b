"""Stock media by keyword: `stock:pexels/ocean waves` becomes a photo or clip URL.

A reference `stock:PROVIDER/QUERY` names the first suitable result of a keyword search,
so a template's background (or any scene of a visuals sequence) can be "ocean waves"
rather than a file. Providers: `pexels` and `pixabay` (photos), `pexels-video` and
`pixabay-video` (clips). Suitable means portrait (taller than wide); of a clip's
renditions, the smallest at least 1920 px tall, else the tallest. The URL found is then
fetched like any other, through the allow-list and the cache, and the cache keys it by
the reference: a second render with the same query asks the provider nothing.

API keys come from `PEXELS_API_KEY` / `PIXABAY_API_KEY`; the API base URLs from
`NEUROSHORTS_PEXELS_URL` / `NEUROSHORTS_PIXABAY_URL` (for a proxy, or a test server).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from neuroshorts.errors import StockError
from neuroshorts.settings import Settings, settings

PREFIX = "stock:"
_TARGET_HEIGHT = 1920
_TIMEOUT = 20.0  # seconds

Json = dict[str, Any]


@dataclass(frozen=True)
class Provider:
    key_env: str
    key: Callable[[Settings], str]
    url: Callable[[Settings], str]
    path: str
    params: Callable[[str, str], dict[str, str]]
    headers: Callable[[str], dict[str, str]]
    pick: Callable[[Json], str | None]
    kind: str


def _pexels_photo(answer: Json) -> str | None:
    for photo in answer.get("photos", []):
        if photo["height"] >= photo["width"]:
            return photo["src"]["original"]
    return None


def _pexels_video(answer: Json) -> str | None:
    for video in answer.get("videos", []):
        files = [
            (file["height"], file["link"])
            for file in video.get("video_files", [])
            if file.get("file_type") == "video/mp4"
            and file.get("link")
            and (file.get("height") or 0) > (file.get("width") or 0)
        ]
        if files:
            return _closest(files)
    return None


def _pixabay_photo(answer: Json) -> str | None:
    for hit in answer.get("hits", []):
        if hit["imageHeight"] >= hit["imageWidth"]:
            return hit["largeImageURL"]
    return None


def _pixabay_video(answer: Json) -> str | None:
    for hit in answer.get("hits", []):
        renditions = [
            (rendition["height"], rendition["url"])
            for rendition in hit.get("videos", {}).values()
            if rendition.get("url") and rendition["height"] > rendition["width"]
        ]
        if renditions:
            return _closest(renditions)
    return None


def _closest(renditions: Iterable[tuple[int, str]]) -> str:
    """The smallest rendition at least as tall as the frame, else the tallest."""
    ordered = sorted(renditions)
    return next((url for height, url in ordered if height >= _TARGET_HEIGHT), ordered[-1][1])


def _pexels_params(query: str, key: str) -> dict[str, str]:
    return {"query": query, "orientation": "portrait", "per_page": "15"}


def _pixabay_params(query: str, key: str) -> dict[str, str]:
    return {"key": key, "q": query, "safesearch": "true", "per_page": "20"}


def _pixabay_photo_params(query: str, key: str) -> dict[str, str]:
    return {**_pixabay_params(query, key), "image_type": "photo", "orientation": "vertical"}


PROVIDERS: dict[str, Provider] = {
    "pexels": Provider(
        "PEXELS_API_KEY",
        lambda config: config.pexels_api_key,
        lambda config: config.pexels_url,
        "/v1/search",
        _pexels_params,
        lambda key: {"Authorization": key},
        _pexels_photo,
        "portrait photo",
    ),
    "pexels-video": Provider(
        "PEXELS_API_KEY",
        lambda config: config.pexels_api_key,
        lambda config: config.pexels_url,
        "/videos/search",
        _pexels_params,
        lambda key: {"Authorization": key},
        _pexels_video,
        "portrait MP4 clip",
    ),
    "pixabay": Provider(
        "PIXABAY_API_KEY",
        lambda config: config.pixabay_api_key,
        lambda config: config.pixabay_url,
        "/",
        _pixabay_photo_params,
        lambda key: {},
        _pixabay_photo,
        "portrait photo",
    ),
    "pixabay-video": Provider(
        "PIXABAY_API_KEY",
        lambda config: config.pixabay_api_key,
        lambda config: config.pixabay_url,
        "/videos/",
        _pixabay_params,
        lambda key: {},
        _pixabay_video,
        "portrait clip",
    ),
}
_SYNTAX = f"{PREFIX}PROVIDER/KEYWORDS with PROVIDER one of {', '.join(PROVIDERS)}"


def search(reference: str) -> str:
    """The media URL that `stock:PROVIDER/QUERY` names; raises StockError."""
    name, _, query = reference.removeprefix(PREFIX).partition("/")
    provider = PROVIDERS.get(name.strip().lower())
    if provider is None or not query.strip():
        raise StockError("is not a stock search", _SYNTAX)
    config = settings()
    key = provider.key(config)
    if not key:
        raise StockError(f"needs an API key in {provider.key_env}", f"{provider.key_env} set")
    base = provider.url(config)
    import httpx  # here, not at the top: it costs every kernel's start 0.1 s

    try:
        response = httpx.get(
            base.rstrip("/") + provider.path,
            params=provider.params(query.strip(), key),
            headers=provider.headers(key),
            timeout=_TIMEOUT,
        )
    except httpx.HTTPError as error:
        raise StockError(f"could not reach {name} ({error})", f"{base} reachable") from error
    if response.status_code in (401, 403):
        raise StockError(f"{name} refused the API key", f"a valid key in {provider.key_env}")
    if response.status_code != 200:
        raise StockError(f"{name} answered HTTP {response.status_code}", "HTTP 200")
    try:
        url = provider.pick(response.json())
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise StockError(
            f"{name} answered something that is not its search result ({error!r})",
            f"the {name} API's JSON",
        ) from error
    if url is None:
        raise StockError(f"{name} found no {provider.kind}", "keywords with a result")
    return url
