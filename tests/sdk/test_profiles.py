"""Profiles through the official SDK: create, 409, upsert 201/200, PATCH, null vs absent, filters,
sparse fieldsets, isolation between accounts."""

from __future__ import annotations

import datetime as dt

import pytest
from openapi_client.exceptions import ApiException

from sdkutil import UTC, email, error_of, profile_body


def _get(klaviyo, pid):
    doc = klaviyo.Profiles.get_profile(pid)
    assert doc is not None
    assert doc.data.id == pid
    assert doc.data.links.var_self
    return doc.data.attributes


def test_create_profile_201_and_read_back(klaviyo):
    addr = email("create")
    attrs = {
        "email": addr, "phone_number": "+15005550006", "external_id": "ext-1",
        "first_name": "Sarah", "last_name": "Mason", "organization": "Klaviyo", "title": "Engineer",
        "image": "https://images.wharf-sdk.org/sarah.jpg", "locale": "en-US",
        "location": {"address1": "89 E 42nd St", "city": "New York", "country": "United States",
                     "region": "NY", "zip": "10017", "timezone": "America/New_York", "latitude": 40.7128},
        "properties": {"newsletter": True, "tier": "gold", "score": 0, "tags": ["a", "b"], "nested": {"x": {"y": 1}}},
    }
    resp = klaviyo.Profiles.create_profile_with_http_info(profile_body(attrs))
    assert resp.status_code == 201
    created = resp.data.data
    assert created.type.value == "profile" and created.id and created.links.var_self
    assert created.attributes.email == addr
    assert created.attributes.first_name == "Sarah"
    assert created.attributes.created is not None and created.attributes.updated is not None

    got = _get(klaviyo, created.id)
    assert got.email == addr
    assert got.phone_number == "+15005550006"
    assert got.external_id == "ext-1"
    assert (got.first_name, got.last_name, got.organization, got.title, got.locale) == \
        ("Sarah", "Mason", "Klaviyo", "Engineer", "en-US")
    assert got.image == "https://images.wharf-sdk.org/sarah.jpg"
    assert got.location.city == "New York" and got.location.zip == "10017"
    assert got.location.timezone == "America/New_York"
    assert float(got.location.latitude) == pytest.approx(40.7128)
    assert got.properties == attrs["properties"]
    assert got.created == created.attributes.created


@pytest.mark.parametrize("ident", ["email", "phone_number", "external_id"])
def test_create_duplicate_identifier_409(klaviyo, ident):
    first = {"email": email("dup"), "phone_number": "+15005550007", "external_id": "dup-ext"}
    pid = klaviyo.Profiles.create_profile(profile_body(first)).data.id
    second = {"email": email("other")}
    if ident == "email":
        second = {"email": first["email"]}
    else:
        second[ident] = first[ident]
    with pytest.raises(ApiException) as ei:
        klaviyo.Profiles.create_profile(profile_body(second))
    assert ei.value.status == 409
    err = error_of(ei.value)
    assert err["code"]
    # nothing new was created
    all_ids = [p.id for p in klaviyo.Profiles.get_profiles().data]
    assert all_ids == [pid]


def test_upsert_201_then_200_same_profile(klaviyo):
    addr = email("upsert")
    r1 = klaviyo.Profiles.create_or_update_profile_with_http_info(
        profile_body({"email": addr, "first_name": "Sarah", "properties": {"coffee": "caramel"}}))
    assert r1.status_code == 201
    pid = r1.data.data.id
    r2 = klaviyo.Profiles.create_or_update_profile_with_http_info(
        profile_body({"email": addr, "last_name": "Mason", "properties": {"roast": "dark"}}))
    assert r2.status_code == 200
    assert r2.data.data.id == pid
    assert r2.data.data.attributes.last_name == "Mason"

    got = _get(klaviyo, pid)
    assert (got.first_name, got.last_name) == ("Sarah", "Mason")
    assert got.properties == {"coffee": "caramel", "roast": "dark"}
    assert len(klaviyo.Profiles.get_profiles().data) == 1

    # upsert by id
    r3 = klaviyo.Profiles.create_or_update_profile_with_http_info(profile_body({"title": "Barista"}, pid=pid))
    assert r3.status_code == 200 and r3.data.data.id == pid
    assert _get(klaviyo, pid).title == "Barista"


def test_upsert_null_clears_absent_leaves_unchanged(klaviyo):
    addr = email("nulls")
    pid = klaviyo.Profiles.create_or_update_profile(profile_body({
        "email": addr, "first_name": "Ann", "last_name": "Lee", "title": "CTO", "organization": "Old Co",
        "location": {"city": "Boston", "zip": "02110"},
        "properties": {"keep": 1, "drop": 2},
    })).data.id

    resp = klaviyo.Profiles.create_or_update_profile_with_http_info(profile_body({
        "email": addr, "last_name": None, "organization": "New Co",
        "location": {"zip": None}, "properties": {"drop": None, "added": True},
    }))
    assert resp.status_code == 200
    got = _get(klaviyo, pid)
    assert got.first_name == "Ann"          # absent: unchanged
    assert got.title == "CTO"               # absent: unchanged
    assert got.last_name is None            # null: cleared
    assert got.organization == "New Co"     # set
    assert got.location.city == "Boston"    # absent inside location: unchanged
    assert got.location.zip is None         # null inside location: cleared
    assert got.properties == {"keep": 1, "added": True}


def test_patch_profile(klaviyo):
    addr = email("patch")
    pid = klaviyo.Profiles.create_profile(profile_body({
        "email": addr, "first_name": "Old", "title": "Intern", "locale": "en-US", "properties": {"a": 1}})).data.id
    resp = klaviyo.Profiles.update_profile_with_http_info(
        pid, profile_body({"first_name": "New", "title": None, "properties": {"b": 2}}, pid=pid))
    assert resp.status_code == 200
    doc = resp.data.data
    assert doc.id == pid and doc.links.var_self
    assert doc.attributes.first_name == "New"
    assert doc.attributes.title is None

    got = _get(klaviyo, pid)
    assert got.first_name == "New"
    assert got.title is None
    assert got.locale == "en-US"
    assert got.email == addr
    assert got.properties == {"a": 1, "b": 2}
    assert got.updated >= got.created


def test_get_unknown_profile_404(klaviyo):
    with pytest.raises(ApiException) as ei:
        klaviyo.Profiles.get_profile("01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert ei.value.status == 404
    error_of(ei.value)


def test_profile_filters(klaviyo):
    people = [
        {"email": email("f1"), "external_id": "x-1", "first_name": "One"},
        {"email": email("f2"), "phone_number": "+15005550010", "first_name": "Two"},
        {"email": email("f3"), "first_name": "Three"},
    ]
    ids = {}
    for p in people:
        ids[p["first_name"]] = klaviyo.Profiles.create_profile(profile_body(p)).data.id

    def names(**kw):
        resp = klaviyo.Profiles.get_profiles(**kw)
        assert resp is not None
        return sorted(p.attributes.first_name for p in resp.data)

    assert names(filter=f'equals(email,"{people[0]["email"]}")') == ["One"]
    assert names(filter=f'any(email,["{people[0]["email"]}","{people[2]["email"]}","nobody@wharf-sdk.org"])') == \
        ["One", "Three"]
    assert names(filter='equals(external_id,"x-1")') == ["One"]
    assert names(filter='equals(phone_number,"+15005550010")') == ["Two"]
    assert names(filter=f'equals(id,"{ids["Three"]}")') == ["Three"]
    assert names(filter='equals(email,"nobody@wharf-sdk.org")') == []

    all_profiles = klaviyo.Profiles.get_profiles().data
    earliest = min(p.attributes.updated for p in all_profiles)
    before = (earliest - dt.timedelta(seconds=1)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    future = (dt.datetime.now(UTC) + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert names(filter=f"greater-than(updated,{before})") == ["One", "Three", "Two"]
    assert names(filter=f"greater-than(updated,{future})") == []
    assert names(filter=f"less-than(updated,{future})") == ["One", "Three", "Two"]
    assert names(filter=f"less-than(created,{before})") == []
    assert names(filter=f'and(greater-than(updated,{before}),equals(email,"{people[1]["email"]}"))') == ["Two"]

    emails = [p.attributes.email for p in klaviyo.Profiles.get_profiles(sort="email").data]
    assert emails == sorted(emails) and len(emails) == 3
    assert [p.attributes.email for p in klaviyo.Profiles.get_profiles(sort="-email").data] == emails[::-1]


def test_profile_sparse_fieldsets(klaviyo):
    addr = email("sparse")
    pid = klaviyo.Profiles.create_profile(profile_body(
        {"email": addr, "first_name": "Fiona", "last_name": "Hidden", "location": {"city": "Lisbon"}})).data.id

    raw = klaviyo.Profiles.get_profile(pid, fields_profile=["email", "first_name"])
    assert isinstance(raw, dict)  # sparse fieldsets => the SDK hands back the raw document
    data = raw["data"]
    assert data["id"] == pid and data["type"] == "profile" and data["links"]["self"]
    assert data["attributes"] == {"email": addr, "first_name": "Fiona"}

    raw = klaviyo.Profiles.get_profiles(fields_profile=["last_name"], filter=f'equals(email,"{addr}")')
    assert [d["attributes"] for d in raw["data"]] == [{"last_name": "Hidden"}]
    assert raw["links"]["self"]


def test_accounts_are_isolated(klaviyo, new_client):
    addr = email("iso")
    pid = klaviyo.Profiles.create_profile(profile_body({"email": addr})).data.id
    other, _ = new_client("iso")
    assert other.Profiles.get_profiles().data == []
    with pytest.raises(ApiException) as ei:
        other.Profiles.get_profile(pid)
    assert ei.value.status == 404
    # the same email is free in the other account
    r = other.Profiles.create_profile_with_http_info(profile_body({"email": addr}))
    assert r.status_code == 201 and r.data.data.id != pid


def test_bad_api_key_401(server):
    from conftest import make_client

    bad = make_client(server.base_url, "pk_" + "0" * 32)
    with pytest.raises(ApiException) as ei:
        bad.Profiles.get_profiles()
    assert ei.value.status == 401
    error_of(ei.value)
