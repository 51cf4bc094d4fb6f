"""Cursor pagination through the SDK: every id exactly once, links.next absent on the last page,
and the cursor forms the SDK really sends (bare, links.next over http, links.next over https)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from sdkutil import bulk_events_body, collect_pages, cursor_of, email, profile_body


def _make_profiles(klaviyo, n):
    ids = set()
    for i in range(n):
        ids.add(klaviyo.Profiles.create_or_update_profile(
            profile_body({"email": email(f"pg{i:02d}"), "properties": {"i": i}})).data.id)
    assert len(ids) == n
    return ids


def test_profiles_pages_cover_every_id_once(klaviyo):
    ids = _make_profiles(klaviyo, 23)
    items, pages = collect_pages(klaviyo.Profiles.get_profiles, page_size=5)
    got = [p.id for p in items]
    assert pages == 5
    assert len(got) == 23 and set(got) == ids  # exactly once each

    # default order is stable across pages: same sequence when paging with a different size
    items7, pages7 = collect_pages(klaviyo.Profiles.get_profiles, page_size=7)
    assert pages7 == 4 and [p.id for p in items7] == got

    # sorted pagination keeps the order across page boundaries
    items_sorted, _ = collect_pages(klaviyo.Profiles.get_profiles, page_size=4, sort="-email")
    emails = [p.attributes.email for p in items_sorted]
    assert emails == sorted(emails, reverse=True) and len(emails) == 23


def test_profiles_pagination_with_filter(klaviyo):
    _make_profiles(klaviyo, 6)
    wanted = [email("pf") for _ in range(5)]
    wanted_ids = {klaviyo.Profiles.create_profile(profile_body({"email": e})).data.id for e in wanted}
    flt = "any(email,[" + ",".join(f'"{e}"' for e in wanted) + "])"
    items, pages = collect_pages(klaviyo.Profiles.get_profiles, page_size=2, filter=flt)
    assert pages == 3
    assert sorted(p.id for p in items) == sorted(wanted_ids)


@pytest.mark.parametrize("form", ["links_next_verbatim", "https_link"])
def test_profiles_cursor_forms_the_sdk_sends(klaviyo, form):
    """`page_cursor=resp.links.next` is the SDK's documented idiom. The wrapper strips an
    https:// link down to "=<cursor>" and sends an http:// link whole; the server must accept both."""
    ids = _make_profiles(klaviyo, 5)
    seen = []
    resp = klaviyo.Profiles.get_profiles(page_size=2)
    seen += [p.id for p in resp.data]
    while resp.links.next:
        if form == "links_next_verbatim":
            cur = resp.links.next
        else:
            cur = "https://a.klaviyo.com/api/profiles/?page%5Bsize%5D=2&page%5Bcursor%5D=" + quote(
                cursor_of(resp.links.next), safe="")
        resp = klaviyo.Profiles.get_profiles(page_size=2, page_cursor=cur)
        seen += [p.id for p in resp.data]
        assert len(seen) <= 5, "pagination repeats items"
    assert sorted(seen) == sorted(ids)


def test_events_pages_cover_every_id_once(klaviyo):
    addr = email("evpg")
    events = [{"metric_name": "Tick", "time": f"2024-04-01T00:{m:02d}:00Z", "properties": {"m": m}} for m in range(25)]
    klaviyo.Events.bulk_create_events(bulk_events_body([({"email": addr}, events)]))
    items, pages = collect_pages(klaviyo.Events.get_events, page_size=10)
    assert pages == 3
    assert len(items) == 25 and len({e.id for e in items}) == 25
    assert sorted(e.attributes.event_properties["m"] for e in items) == list(range(25))

    desc, _ = collect_pages(klaviyo.Events.get_events, page_size=4, sort="-datetime")
    assert [e.attributes.event_properties["m"] for e in desc] == list(range(24, -1, -1))

    flt = "greater-or-equal(datetime,2024-04-01T00:20:00Z)"
    part, pages = collect_pages(klaviyo.Events.get_events, page_size=2, filter=flt)
    assert pages == 3 and sorted(e.attributes.event_properties["m"] for e in part) == [20, 21, 22, 23, 24]
