//! A seeded generator of realistic synthetic shop data: profiles with names, contact data,
//! locations and custom properties, and months of events (orders, product views, email
//! engagement) from several integrations. Used by `wharf demo`, tests and benchmarks; the
//! same seed always gives the same shop.

mod catalog;
mod rng;
pub mod wire;

use chrono::TimeDelta;
use serde_json::{Map, Value, json};
use wharf_model::profile::LocationChanges;
use wharf_model::{Integration, NewEvent, Patch, ProfileChanges, ProfileIdentifiers, ProfileWrite, Timestamp};

pub use rng::Rng;

/// What to generate.
#[derive(Clone, Debug)]
pub struct ShopSpec {
    pub seed: u64,
    pub profiles: usize,
    pub events: usize,
    /// Events spread over this many days before `end`.
    pub days: u32,
    pub end: Timestamp,
}

impl ShopSpec {
    pub fn new(seed: u64, profiles: usize, events: usize, end: Timestamp) -> Self {
        ShopSpec { seed, profiles, events, days: 180, end }
    }
}

/// A generated shop.
#[derive(Clone, Debug)]
pub struct Shop {
    pub profiles: Vec<ProfileWrite>,
    pub events: Vec<NewEvent>,
}

/// One synthetic customer: the write that creates it.
pub fn profile(rng: &mut Rng, n: usize) -> ProfileWrite {
    let first = *rng.pick(catalog::FIRST_NAMES);
    let last = *rng.pick(catalog::LAST_NAMES);
    let domain = *rng.pick(catalog::EMAIL_DOMAINS);
    let email = format!("{}.{}{}@{}", first.to_lowercase(), last.to_lowercase(), n, domain);
    let city = rng.pick(catalog::CITIES);
    let phone = format!("+1{}{:07}", city.area_code, 2_000_000 + (n % 7_999_999));
    let has_phone = rng.chance(0.6);
    let mut properties: Vec<(String, Patch<Value>)> = vec![
        ("Loyalty Tier".into(), Patch::Set(json!(rng.pick(&["Bronze", "Silver", "Gold", "Platinum"])))),
        ("Favorite Category".into(), Patch::Set(json!(rng.pick(catalog::CATEGORIES)))),
        ("Accepts Marketing".into(), Patch::Set(json!(rng.chance(0.7)))),
        (
            "Signup Source".into(),
            Patch::Set(json!(rng.pick(&["Checkout", "Popup", "Footer Form", "Instagram", "Referral"]))),
        ),
    ];
    if rng.chance(0.3) {
        properties.push((
            "Birthday".into(),
            Patch::Set(json!(format!("19{:02}-{:02}-{:02}", 60 + rng.below(45), 1 + rng.below(12), 1 + rng.below(28)))),
        ));
    }
    ProfileWrite {
        identifiers: ProfileIdentifiers {
            email: Some(email.clone()),
            phone_number: has_phone.then(|| phone.clone()),
            ..Default::default()
        },
        changes: ProfileChanges {
            email: Patch::Set(email),
            phone_number: if has_phone { Patch::Set(phone) } else { Patch::Absent },
            first_name: Patch::Set(first.into()),
            last_name: Patch::Set(last.into()),
            locale: Patch::Set("en-US".into()),
            location: LocationChanges {
                address1: Patch::Set(format!("{} {}", 1 + rng.below(9_000), rng.pick(catalog::STREETS))),
                city: Patch::Set(city.name.into()),
                region: Patch::Set(city.region.into()),
                country: Patch::Set("United States".into()),
                zip: Patch::Set(format!("{:05}", city.zip + rng.below(50))),
                timezone: Patch::Set(city.timezone.into()),
                latitude: Patch::Set(city.lat),
                longitude: Patch::Set(city.lon),
                ..Default::default()
            },
            properties,
            ..Default::default()
        },
    }
}

/// Identifies an existing synthetic customer by email only, as storefront events do.
fn by_email(p: &ProfileWrite) -> ProfileWrite {
    let email = p.identifiers.email.clone().expect("synthetic profiles have emails");
    ProfileWrite {
        identifiers: ProfileIdentifiers { email: Some(email.clone()), ..Default::default() },
        changes: ProfileChanges { email: Patch::Set(email), ..Default::default() },
    }
}

/// One synthetic event of customer `who`, at `time`; `n` makes its `unique_id`.
pub fn event(rng: &mut Rng, seed: u64, n: usize, who: &ProfileWrite, time: Timestamp) -> NewEvent {
    let (name, integration, value) = match rng.below(100) {
        0..=11 => ("Placed Order", shopify(), true),
        12..=19 => ("Ordered Product", shopify(), true),
        20..=24 => ("Fulfilled Order", shopify(), true),
        25..=34 => ("Added to Cart", shopify(), true),
        35..=39 => ("Started Checkout", shopify(), true),
        40..=59 => ("Viewed Product", Integration::api(), false),
        60..=67 => ("Active on Site", Integration::api(), false),
        68..=79 => ("Received Email", klaviyo(), false),
        80..=91 => ("Opened Email", klaviyo(), false),
        _ => ("Clicked Email", klaviyo(), false),
    };
    let mut props = Map::new();
    let mut amount = None;
    if value {
        let count = 1 + rng.below(4) as usize;
        let items: Vec<Value> = (0..count)
            .map(|_| {
                let p = rng.pick(catalog::PRODUCTS);
                let qty = 1 + rng.below(3);
                json!({"ProductID": p.id, "ProductName": p.name, "SKU": format!("SKU-{}", p.id), "Quantity": qty,
                       "ItemPrice": p.price, "RowTotal": (p.price * f64::from(qty) * 100.0).round() / 100.0,
                       "Categories": [p.category], "ImageURL": format!("https://cdn.example-shop.com/p/{}.jpg", p.id)})
            })
            .collect();
        let total: f64 = items.iter().map(|i| i["RowTotal"].as_f64().unwrap_or(0.0)).sum();
        let total = (total * 100.0).round() / 100.0;
        amount = Some(total);
        props.insert("OrderId".into(), json!(format!("#{}", 100_000 + n)));
        props.insert("ItemNames".into(), json!(items.iter().map(|i| i["ProductName"].clone()).collect::<Vec<_>>()));
        props.insert("Item Count".into(), json!(count));
        props.insert("Items".into(), Value::Array(items));
        props.insert("Source Name".into(), json!(rng.pick(&["web", "shopify_draft_order", "pos"])));
        if rng.chance(0.2) {
            props.insert("DiscountCode".into(), json!(rng.pick(&["WELCOME10", "SPRING20", "VIP15"])));
        }
    } else if integration.name == "Klaviyo" {
        props.insert("Campaign Name".into(), json!(rng.pick(catalog::CAMPAIGNS)));
        props.insert("Subject".into(), json!(rng.pick(catalog::SUBJECTS)));
        props.insert("Email Domain".into(), json!(who.identifiers.email.as_deref().and_then(|e| e.split('@').nth(1))));
        props.insert("Client Type".into(), json!(rng.pick(&["Webmail", "Mobile", "Desktop"])));
        props.insert("$message_interaction".into(), json!(format!("msg-{}", rng.below(500))));
        if name == "Clicked Email" {
            props.insert(
                "URL".into(),
                json!(format!("https://example-shop.com/products/{}", rng.pick(catalog::PRODUCTS).id)),
            );
        }
    } else {
        let p = rng.pick(catalog::PRODUCTS);
        props.insert("ProductName".into(), json!(p.name));
        props.insert("ProductID".into(), json!(p.id));
        props.insert("Price".into(), json!(p.price));
        props.insert("Categories".into(), json!([p.category]));
        props.insert("URL".into(), json!(format!("https://example-shop.com/products/{}", p.id)));
    }
    NewEvent {
        profile: by_email(who),
        metric_name: name.into(),
        integration,
        time: Some(time),
        value: amount,
        value_currency: amount.map(|_| "USD".into()),
        unique_id: Some(format!("evt-{seed}-{n}")),
        properties: props,
    }
}

fn shopify() -> Integration {
    Integration::from_service("Shopify")
}

fn klaviyo() -> Integration {
    Integration::from_service("Klaviyo")
}

/// Generates a whole shop. Event times are in order, spread over `days` before `end`.
pub fn generate(spec: &ShopSpec) -> Shop {
    let mut rng = Rng::new(spec.seed);
    let profiles: Vec<ProfileWrite> = (0..spec.profiles).map(|n| profile(&mut rng, n)).collect();
    let span = i64::from(spec.days) * 86_400;
    let start = spec.end - TimeDelta::seconds(span);
    let mut events = Vec::with_capacity(spec.events);
    if !profiles.is_empty() {
        for n in 0..spec.events {
            // A few customers are far more active than the rest, as in real shops.
            let who = if rng.chance(0.3) {
                rng.below(profiles.len().div_ceil(10) as u32)
            } else {
                rng.below(profiles.len() as u32)
            };
            let offset = (n as i64 * span) / spec.events.max(1) as i64 + i64::from(rng.below(60));
            let time = start + TimeDelta::seconds(offset.min(span));
            let t = chrono::DateTime::from_timestamp(time.timestamp(), 0).expect("in range");
            events.push(event(&mut rng, spec.seed, n, &profiles[who as usize], t));
        }
    }
    Shop { profiles, events }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_shop_and_valid_identifiers() {
        let end = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let a = generate(&ShopSpec::new(7, 200, 2_000, end));
        let b = generate(&ShopSpec::new(7, 200, 2_000, end));
        assert_eq!(a.events, b.events);
        assert_eq!(a.profiles, b.profiles);
        for p in &a.profiles {
            let email = p.identifiers.email.as_deref().unwrap();
            assert!(email.contains('@'));
            if let Some(phone) = &p.identifiers.phone_number {
                assert!(phone.starts_with("+1") && phone.len() == 12, "{phone}");
            }
        }
        let names: std::collections::BTreeSet<_> = a.events.iter().map(|e| e.metric_name.as_str()).collect();
        assert!(names.len() >= 8, "a realistic mix of metrics: {names:?}");
        assert!(a.events.windows(2).all(|w| w[0].time <= w[1].time));
        assert!(a.events.iter().all(|e| e.time.unwrap() <= end));
    }
}
