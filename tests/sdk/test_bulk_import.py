"""Bulk profile import jobs through the SDK: 202 + job document, job GET complete with counts,
import-errors list, upsert semantics (empty/null leaves unchanged)."""

from __future__ import annotations

import pytest
from openapi_client.exceptions import ApiException

from sdkutil import bulk_profiles_body, email, error_of, profile_body

STATUSES = {"queued", "processing", "complete", "cancelled"}


def _profiles_by_email(klaviyo, emails):
    flt = "any(email,[" + ",".join(f'"{e}"' for e in emails) + "])"
    resp = klaviyo.Profiles.get_profiles(filter=flt, page_size=100)
    return {p.attributes.email: p for p in resp.data}


def test_bulk_import_job_complete_with_counts(klaviyo):
    people = [{"email": email(f"bi{i}"), "first_name": f"N{i}", "properties": {"i": i}} for i in range(4)]
    resp = klaviyo.Profiles.bulk_import_profiles_with_http_info(bulk_profiles_body(people))
    assert resp.status_code == 202
    job = resp.data.data
    assert job.type.value == "profile-bulk-import-job" and job.id and job.links.var_self
    assert job.attributes.status in STATUSES
    assert job.attributes.total_count == 4
    assert job.attributes.created_at is not None

    got = klaviyo.Profiles.get_bulk_import_profiles_job(job.id)
    assert got is not None
    a = got.data.attributes
    assert got.data.id == job.id
    assert a.status == "complete"
    assert (a.total_count, a.completed_count, a.failed_count) == (4, 4, 0)
    assert a.completed_at is not None and a.completed_at >= a.created_at

    errors = klaviyo.Profiles.get_errors_for_bulk_import_profiles_job(job.id)
    assert errors is not None and errors.data == []

    stored = _profiles_by_email(klaviyo, [p["email"] for p in people])
    assert sorted(stored) == sorted(p["email"] for p in people)
    for p in people:
        s = stored[p["email"]].attributes
        assert s.first_name == p["first_name"] and s.properties == p["properties"]


def test_bulk_import_upserts_and_null_leaves_unchanged(klaviyo):
    addr = email("bi-up")
    pid = klaviyo.Profiles.create_profile(profile_body(
        {"email": addr, "first_name": "Keep", "last_name": "Old", "properties": {"a": 1}})).data.id
    fresh = email("bi-new")
    job = klaviyo.Profiles.bulk_import_profiles(bulk_profiles_body([
        # bulk import: null does not clear (Klaviyo), a set value updates, properties merge
        {"email": addr, "first_name": None, "last_name": "New", "properties": {"b": 2}},
        {"email": fresh, "first_name": "Fresh"},
    ])).data
    done = klaviyo.Profiles.get_bulk_import_profiles_job(job.id).data.attributes
    assert done.status == "complete" and (done.total_count, done.completed_count, done.failed_count) == (2, 2, 0)

    stored = _profiles_by_email(klaviyo, [addr, fresh])
    assert stored[addr].id == pid
    assert stored[addr].attributes.first_name == "Keep"
    assert stored[addr].attributes.last_name == "New"
    assert stored[addr].attributes.properties == {"a": 1, "b": 2}
    assert stored[fresh].attributes.first_name == "Fresh"
    assert len(klaviyo.Profiles.get_profiles().data) == 2


def test_bulk_import_invalid_row_is_reported(klaviyo):
    """An invalid row must be reported, never silently dropped. Either design is accepted:
    Klaviyo's (202, the row counted as failed and listed in import-errors, the others imported)
    or all-or-nothing (400 pointing at the row, nothing imported)."""
    good = [email("ok1"), email("ok2")]
    body = bulk_profiles_body([{"email": good[0]}, {"email": "not-an-email"}, {"email": good[1]}])
    try:
        resp = klaviyo.Profiles.bulk_import_profiles_with_http_info(body)
    except ApiException as e:
        assert e.status == 400
        err = error_of(e)
        assert "/data/attributes/profiles/data/1" in (err.get("source") or {}).get("pointer", ""), err
        assert _profiles_by_email(klaviyo, good) == {}
        return
    assert resp.status_code == 202
    job_id = resp.data.data.id
    a = klaviyo.Profiles.get_bulk_import_profiles_job(job_id).data.attributes
    assert a.status == "complete"
    assert (a.total_count, a.completed_count, a.failed_count) == (3, 2, 1)
    errs = klaviyo.Profiles.get_errors_for_bulk_import_profiles_job(job_id).data
    assert len(errs) == 1
    e = errs[0].attributes
    assert e.code and e.detail
    assert "1" in (e.source.pointer or ""), e
    assert sorted(_profiles_by_email(klaviyo, good)) == sorted(good)


def test_bulk_import_job_of_other_account_is_404(klaviyo, new_client):
    job = klaviyo.Profiles.bulk_import_profiles(bulk_profiles_body([{"email": email("bi-iso")}])).data
    other, _ = new_client("bi-iso")
    with pytest.raises(ApiException) as ei:
        other.Profiles.get_bulk_import_profiles_job(job.id)
    assert ei.value.status == 404
    with pytest.raises(ApiException) as ei:
        klaviyo.Profiles.get_bulk_import_profiles_job("01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert ei.value.status == 404
