"""Small helpers shared by the SDK tests (bodies, cursors, error parsing)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from urllib.parse import parse_qs, urlsplit

from openapi_client.exceptions import ApiException

UTC = dt.timezone.utc


def email(tag: str = "p") -> str:
    # Not @example.com / @test.com: Klaviyo silently drops events for those.
    return f"{tag}-{uuid.uuid4().hex[:12]}@wharf-sdk.org"


def ts(s: str) -> dt.datetime:
    """'2024-05-10T12:00:00Z' -> aware datetime."""
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def event_body(metric: str, profile_attrs: dict, properties: dict | None = None, *, time: str | None = None,
               value: float | None = None, unique_id: str | None = None, service: str | None = None,
               value_currency: str | None = None) -> dict:
    attrs: dict = {"properties": properties if properties is not None else {}}
    if time is not None:
        attrs["time"] = time
    if value is not None:
        attrs["value"] = value
    if value_currency is not None:
        attrs["value_currency"] = value_currency
    if unique_id is not None:
        attrs["unique_id"] = unique_id
    metric_attrs = {"name": metric}
    if service is not None:
        metric_attrs["service"] = service
    attrs["metric"] = {"data": {"type": "metric", "attributes": metric_attrs}}
    attrs["profile"] = {"data": {"type": "profile", "attributes": profile_attrs}}
    return {"data": {"type": "event", "attributes": attrs}}


def bulk_events_body(groups: list[tuple[dict, list[dict]]]) -> dict:
    """groups: [(profile_attrs, [event attributes incl. metric name under 'metric_name'])]."""
    items = []
    for profile_attrs, events in groups:
        evs = []
        for e in events:
            e = dict(e)
            name = e.pop("metric_name")
            e.setdefault("properties", {})
            e["metric"] = {"data": {"type": "metric", "attributes": {"name": name}}}
            evs.append({"type": "event", "attributes": e})
        items.append({
            "type": "event-bulk-create",
            "attributes": {
                "profile": {"data": {"type": "profile", "attributes": profile_attrs}},
                "events": {"data": evs},
            },
        })
    return {"data": {"type": "event-bulk-create-job", "attributes": {"events-bulk-create": {"data": items}}}}


def profile_body(attrs: dict, pid: str | None = None) -> dict:
    data: dict = {"type": "profile", "attributes": attrs}
    if pid is not None:
        data["id"] = pid
    return {"data": data}


def bulk_profiles_body(profiles: list[dict]) -> dict:
    return {"data": {"type": "profile-bulk-import-job", "attributes": {
        "profiles": {"data": [{"type": "profile", "attributes": p} for p in profiles]}}}}


def cursor_of(next_link: str) -> str:
    """The page[cursor] value of a links.next URL."""
    qs = parse_qs(urlsplit(next_link).query)
    vals = qs.get("page[cursor]")
    assert vals and vals[0], f"links.next has no page[cursor]: {next_link}"
    return vals[0]


def error_of(exc: ApiException) -> dict:
    """First JSON:API error object of an ApiException, asserting the document shape."""
    assert exc.body, f"error response {exc.status} has an empty body"
    doc = json.loads(exc.body)
    assert isinstance(doc.get("errors"), list) and doc["errors"], doc
    err = doc["errors"][0]
    for key in ("id", "code", "title", "detail"):
        assert isinstance(err.get(key), str) and err[key], f"error object lacks {key!r}: {err}"
    assert str(err.get("status")) == str(exc.status), f"errors[0].status {err.get('status')!r} != HTTP {exc.status}"
    return err


def collect_pages(fetch, **params):
    """Follow links.next with the bare cursor until the last page; returns (items, pages)."""
    items, pages = [], 0
    cursor = None
    while True:
        resp = fetch(**params, **({"page_cursor": cursor} if cursor else {}))
        pages += 1
        items.extend(resp.data)
        nxt = resp.links.next if resp.links else None
        if not nxt:
            return items, pages
        cursor = cursor_of(nxt)
        assert pages < 1000, "pagination does not terminate"
