"""Events through the official SDK: create (single, bulk), read back, de-duplication, filters."""

from __future__ import annotations

import datetime as dt

from sdkutil import UTC, bulk_events_body, email, event_body, ts


def _profile_id(klaviyo, addr: str) -> str:
    resp = klaviyo.Profiles.get_profiles(filter=f'equals(email,"{addr}")')
    assert resp is not None
    assert len(resp.data) == 1, [p.id for p in resp.data]
    return resp.data[0].id


def _all_events(klaviyo, **kw):
    resp = klaviyo.Events.get_events(page_size=1000, **kw)
    assert resp.links is None or resp.links.next is None, "more than one page of events"
    return resp.data


def test_create_event_202_and_read_back(klaviyo):
    addr = email("ev")
    body = event_body(
        "Placed Order", {"email": addr, "first_name": "Eve"},
        {"Brand": "Kids Book", "Categories": ["Fiction", "Children"], "Items": {"n": 2}},
        time="2024-05-10T12:34:56.789Z", value=9.99, value_currency="USD", unique_id="order-1001",
    )
    resp = klaviyo.Events.create_event_with_http_info(body)
    assert resp.status_code == 202
    assert resp.raw_data in (b"", None)

    pid = _profile_id(klaviyo, addr)
    events = _all_events(klaviyo)
    assert len(events) == 1
    ev = events[0]
    assert ev.type.value == "event" and ev.id
    a = ev.attributes
    # time is kept to the second
    assert a.datetime_ == dt.datetime(2024, 5, 10, 12, 34, 56, tzinfo=UTC)
    assert a.timestamp == int(a.datetime_.timestamp())
    props = a.event_properties
    assert props["Brand"] == "Kids Book"
    assert props["Categories"] == ["Fiction", "Children"]
    assert props["Items"] == {"n": 2}
    assert props["$value"] == 9.99
    assert props["$event_id"] == "order-1001"
    assert ev.relationships.profile.data.id == pid
    mid = ev.relationships.metric.data.id

    # the single-event GET agrees with the list
    one = klaviyo.Events.get_event(ev.id)
    assert one.data.id == ev.id
    assert one.data.attributes.event_properties == props
    assert one.data.attributes.datetime_ == a.datetime_
    assert one.data.relationships.metric.data.id == mid
    assert one.data.links.var_self

    metric = klaviyo.Metrics.get_metric(mid).data
    assert metric.attributes.name == "Placed Order"
    assert metric.attributes.integration["name"] == "API"

    # the event created/updated the profile
    prof = klaviyo.Profiles.get_profile(pid).data
    assert prof.attributes.email == addr
    assert prof.attributes.first_name == "Eve"
    assert prof.attributes.last_event_date is not None


def test_metric_integration_comes_from_service(klaviyo):
    addr = email("svc")
    klaviyo.Events.create_event(event_body("Checkout Started", {"email": addr}, {"k": 1},
                                           time="2024-01-01T00:00:00Z", service="shopify"))
    klaviyo.Events.create_event(event_body("Viewed Page", {"email": addr}, {"k": 2}, time="2024-01-01T00:00:00Z"))
    metrics = {m.attributes.name: m for m in klaviyo.Metrics.get_metrics().data}
    assert set(metrics) == {"Checkout Started", "Viewed Page"}
    assert metrics["Checkout Started"].attributes.integration["name"] == "shopify"
    assert metrics["Viewed Page"].attributes.integration["name"] == "API"
    for m in metrics.values():
        assert m.links.var_self
        assert m.attributes.created and m.attributes.updated

    # same name, different service = a different metric (identified by name + integration)
    klaviyo.Events.create_event(event_body("Viewed Page", {"email": addr}, {"k": 3},
                                           time="2024-01-01T00:00:00Z", service="shopify"))
    names = sorted((m.attributes.name, m.attributes.integration["name"]) for m in klaviyo.Metrics.get_metrics().data)
    assert names == [("Checkout Started", "shopify"), ("Viewed Page", "API"), ("Viewed Page", "shopify")]

    # filter on integration.name
    api_only = klaviyo.Metrics.get_metrics(filter='equals(integration.name,"API")').data
    assert [m.attributes.name for m in api_only] == ["Viewed Page"]


def test_bulk_create_events_read_back(klaviyo):
    a, b = email("bulk-a"), email("bulk-b")
    body = bulk_events_body([
        ({"email": a, "first_name": "Ann"}, [
            {"metric_name": "Refunded Order", "properties": {"Reason": "No longer needed."},
             "time": "2024-05-10T00:00:00Z", "value": 9.99, "value_currency": "USD", "unique_id": "r-1"},
            {"metric_name": "Refunded Order", "properties": {"Reason": "Damaged"},
             "time": "2024-05-11T00:00:00Z", "value": 5, "unique_id": "r-2"},
            {"metric_name": "Viewed Product", "properties": {"sku": "A1"}, "time": "2024-05-12T00:00:00Z"},
        ]),
        ({"email": b}, [
            {"metric_name": "Viewed Product", "properties": {"sku": "B1"}, "time": "2024-05-13T08:00:00Z"},
            {"metric_name": "Viewed Product", "properties": {"sku": "B2"}, "time": "2024-05-13T08:00:01Z"},
        ]),
    ])
    resp = klaviyo.Events.bulk_create_events_with_http_info(body)
    assert resp.status_code == 202

    pa, pb = _profile_id(klaviyo, a), _profile_id(klaviyo, b)
    assert klaviyo.Profiles.get_profile(pa).data.attributes.first_name == "Ann"
    events = _all_events(klaviyo)
    assert len(events) == 5
    assert len({e.id for e in events}) == 5

    metric_names = {m.id: m.attributes.name for m in klaviyo.Metrics.get_metrics().data}
    assert sorted(metric_names.values()) == ["Refunded Order", "Viewed Product"]

    by_profile = {pa: [], pb: []}
    for e in events:
        by_profile[e.relationships.profile.data.id].append(e)
    assert len(by_profile[pa]) == 3 and len(by_profile[pb]) == 2

    refunds = sorted((e for e in by_profile[pa] if metric_names[e.relationships.metric.data.id] == "Refunded Order"),
                     key=lambda e: e.attributes.datetime_)
    assert [e.attributes.event_properties["Reason"] for e in refunds] == ["No longer needed.", "Damaged"]
    assert [e.attributes.event_properties["$event_id"] for e in refunds] == ["r-1", "r-2"]
    assert [e.attributes.event_properties["$value"] for e in refunds] == [9.99, 5]
    assert [e.attributes.datetime_ for e in refunds] == [ts("2024-05-10T00:00:00Z"), ts("2024-05-11T00:00:00Z")]
    assert sorted(e.attributes.event_properties["sku"] for e in by_profile[pb]) == ["B1", "B2"]


def test_repeated_unique_id_is_recorded_once(klaviyo):
    addr = email("dedup")
    first = event_body("Placed Order", {"email": addr}, {"attempt": 1}, time="2024-03-01T10:00:00Z", unique_id="u-42")
    again = event_body("Placed Order", {"email": addr}, {"attempt": 2}, time="2024-03-02T10:00:00Z", unique_id="u-42")
    other = event_body("Placed Order", {"email": addr}, {"attempt": 3}, time="2024-03-01T10:00:00Z", unique_id="u-43")
    other_metric = event_body("Cancelled Order", {"email": addr}, {"attempt": 4}, time="2024-03-01T10:00:00Z",
                              unique_id="u-42")
    for body in (first, again, other, other_metric, first):
        assert klaviyo.Events.create_event_with_http_info(body).status_code == 202

    events = _all_events(klaviyo)
    attempts = sorted(e.attributes.event_properties["attempt"] for e in events)
    # (profile, metric, unique_id) is the key: the repeat of u-42 on "Placed Order" is dropped,
    # the first one wins; u-42 on another metric is a different event.
    assert attempts == [1, 3, 4]


def test_without_unique_id_time_to_the_second_dedups(klaviyo):
    addr = email("dedup-t")
    times = ["2024-03-01T10:00:00.100Z", "2024-03-01T10:00:00.900Z", "2024-03-01T10:00:01Z"]
    for i, t in enumerate(times):
        klaviyo.Events.create_event(event_body("Clicked", {"email": addr}, {"i": i}, time=t))
    events = sorted(_all_events(klaviyo), key=lambda e: e.attributes.datetime_)
    assert [e.attributes.datetime_ for e in events] == [ts("2024-03-01T10:00:00Z"), ts("2024-03-01T10:00:01Z")]
    assert [e.attributes.event_properties["i"] for e in events] == [0, 2]


def test_bulk_duplicates_within_one_request_collapse(klaviyo):
    addr = email("bulk-dup")
    same = {"metric_name": "Viewed", "properties": {"x": 1}, "time": "2024-02-02T02:02:02Z"}
    body = bulk_events_body([({"email": addr}, [dict(same), dict(same, properties={"x": 2}),
                                                 dict(same, unique_id="distinct")])])
    assert klaviyo.Events.bulk_create_events_with_http_info(body).status_code == 202
    events = _all_events(klaviyo)
    assert len(events) == 2
    assert sorted(e.attributes.event_properties["x"] for e in events) == [1, 1]


def test_event_filters_and_sort(klaviyo):
    a, b = email("fa"), email("fb")
    groups = [
        ({"email": a}, [{"metric_name": "M1", "time": f"2024-01-0{d}T00:00:00Z", "properties": {"d": d}} for d in (1, 2, 3)]
         + [{"metric_name": "M2", "time": "2024-01-04T00:00:00Z", "properties": {"d": 4}}]),
        ({"email": b}, [{"metric_name": "M1", "time": "2024-01-05T00:00:00Z", "properties": {"d": 5}}]),
    ]
    klaviyo.Events.bulk_create_events(bulk_events_body(groups))
    pa = _profile_id(klaviyo, a)
    metrics = {m.attributes.name: m.id for m in klaviyo.Metrics.get_metrics().data}

    def days(**kw):
        return [e.attributes.event_properties["d"] for e in _all_events(klaviyo, **kw)]

    assert sorted(days(filter=f'equals(metric_id,"{metrics["M1"]}")')) == [1, 2, 3, 5]
    assert sorted(days(filter=f'equals(profile_id,"{pa}")')) == [1, 2, 3, 4]
    assert sorted(days(filter="greater-or-equal(datetime,2024-01-03T00:00:00Z)")) == [3, 4, 5]
    assert sorted(days(filter="greater-than(datetime,2024-01-03T00:00:00Z)")) == [4, 5]
    assert sorted(days(filter="less-than(datetime,2024-01-03T00:00:00Z)")) == [1, 2]
    assert sorted(days(filter=f'and(equals(metric_id,"{metrics["M1"]}"),equals(profile_id,"{pa}"),'
                              'greater-or-equal(datetime,2024-01-02T00:00:00Z))')) == [2, 3]
    assert days(sort="datetime") == [1, 2, 3, 4, 5]
    assert days(sort="-datetime") == [5, 4, 3, 2, 1]


def test_event_sparse_fieldset(klaviyo):
    addr = email("sparse-ev")
    klaviyo.Events.create_event(event_body("Opened", {"email": addr}, {"k": "v"}, time="2024-06-01T00:00:00Z"))
    raw = klaviyo.Events.get_events(fields_event=["datetime"])  # sparse => SDK returns the raw dict
    assert isinstance(raw, dict)
    (item,) = raw["data"]
    assert set(item["attributes"]) == {"datetime"}
    assert ts(item["attributes"]["datetime"]) == ts("2024-06-01T00:00:00Z")
    assert item["links"]["self"]
