//! Request bodies for M1a/M1b, rendered once before any server starts.
//!
//! Shapes follow Klaviyo's JSON:API (`POST /api/events`,
//! `POST /api/event-bulk-create-jobs`). Every `unique_id` carries a
//! [`SLOT_MARKER`] the load generator overwrites per request, so nothing de-dups.

use serde_json::{Value, json};

use super::Rng;
use super::loadgen::{Body, SLOT_MARKER};

/// Distinct profiles ("a few thousand") the events are spread over.
const PROFILES: u64 = 5_000;
pub const BULK_PROFILES_PER_REQ: usize = 100;
pub const BULK_EVENTS_PER_PROFILE: usize = 10;

const ADJ: &[&str] = &["Classic", "Trail", "Urban", "Merino", "Ultralight", "Heritage", "Everyday", "Coastal"];
const NOUN: &[&str] = &["Runner", "Hoodie", "Backpack", "Socks", "Rain Jacket", "Beanie", "Tote", "Chino"];
const CATEGORY: &[&str] = &["Footwear", "Apparel", "Bags", "Accessories", "Outdoor", "Sale", "New Arrivals"];
const BRAND: &[&str] = &["Northwind", "Acme Outfitters", "Kestrel", "Bluebird & Co"];
const DISCOUNT: &[&str] = &["", "SPRING10", "WELCOME15", "FREESHIP", "VIP20"];
const BULK_METRICS: &[&str] =
    &["Viewed Product", "Added to Cart", "Started Checkout", "Placed Order", "Active on Site"];

/// Deterministic per-run nonce baked into every unique_id next to the slot.
fn uid(nonce: &str, parts: &str) -> String {
    format!("{nonce}-{parts}-{SLOT_MARKER}")
}

fn email(rng: &mut Rng) -> String {
    format!("user{}@example.org", rng.below(PROFILES))
}

fn time(rng: &mut Rng) -> String {
    // Spread over March 2026, second resolution, explicit UTC offset.
    let day = 1 + rng.below(28);
    let s = rng.below(86_400);
    format!("2026-03-{day:02}T{:02}:{:02}:{:02}+00:00", s / 3600, s % 3600 / 60, s % 60)
}

fn money(cents: u64) -> f64 {
    cents as f64 / 100.0
}

struct Product {
    id: u64,
    name: String,
    category: &'static str,
    brand: &'static str,
    price_cents: u64,
}

fn product(rng: &mut Rng) -> Product {
    let id = 1000 + rng.below(400);
    // Derive attributes from the id so a product id always means the same product.
    let mut p = Rng::new(id);
    Product {
        id,
        name: format!("{} {}", p.pick(ADJ), p.pick(NOUN)),
        category: p.pick(CATEGORY),
        brand: p.pick(BRAND),
        price_cents: 999 + p.below(20_000),
    }
}

fn item_json(p: &Product, qty: u64) -> Value {
    json!({
        "ProductID": p.id.to_string(),
        "SKU": format!("SKU-{}", p.id),
        "ProductName": p.name,
        "Quantity": qty,
        "ItemPrice": money(p.price_cents),
        "RowTotal": money(p.price_cents * qty),
        "ProductURL": format!("https://shop.example.org/products/{}", p.id),
        "ImageURL": format!("https://cdn.example.org/img/{}.jpg", p.id),
    })
}

/// "Placed Order" properties with one item; ~700 B for the whole M1a body.
fn order_properties(rng: &mut Rng) -> (Value, f64) {
    let p = product(rng);
    let qty = 1 + rng.below(3);
    let total = money(p.price_cents * qty + 595);
    let props = json!({
        "OrderId": format!("ORD-{:07}", rng.below(10_000_000)),
        "Categories": [p.category],
        "ItemNames": [p.name],
        "Brands": [p.brand],
        "DiscountCode": rng.pick(DISCOUNT),
        "ShippingCost": 5.95,
        "ItemCount": qty,
        "Items": [item_json(&p, qty)],
        "$value": total,
    });
    (props, total)
}

/// Smaller per-event properties for the bulk body (browse/cart/order mix).
fn bulk_properties(rng: &mut Rng, metric: &str) -> Value {
    let p = product(rng);
    match metric {
        "Placed Order" | "Started Checkout" => json!({
            "OrderId": format!("ORD-{:07}", rng.below(10_000_000)),
            "ItemNames": [p.name],
            "Categories": [p.category],
            "ItemCount": 1,
            "$value": money(p.price_cents),
        }),
        "Active on Site" => json!({
            "page": format!("https://shop.example.org/collections/{}", p.category.to_lowercase()),
            "$source": "web",
        }),
        _ => json!({
            "ProductID": p.id.to_string(),
            "ProductName": p.name,
            "Brand": p.brand,
            "Price": money(p.price_cents),
            "URL": format!("https://shop.example.org/products/{}", p.id),
        }),
    }
}

/// M1a: `pool` single-event bodies.
pub fn single_events(pool: usize, nonce: &str) -> Vec<Body> {
    let mut rng = Rng::new(0x5eed_0001);
    (0..pool)
        .map(|i| {
            let (props, value) = order_properties(&mut rng);
            let doc = json!({"data": {"type": "event", "attributes": {
                "properties": props,
                "time": time(&mut rng),
                "value": value,
                "unique_id": uid(nonce, &format!("{i:05}")),
                "metric": {"data": {"type": "metric", "attributes": {"name": "Placed Order"}}},
                "profile": {"data": {"type": "profile", "attributes": {"email": email(&mut rng)}}},
            }}});
            Body::new(doc.to_string(), 1)
        })
        .collect()
}

/// M1b: `pool` bulk bodies of 100 profiles x 10 events = 1,000 events each.
pub fn bulk_events(pool: usize, nonce: &str) -> Vec<Body> {
    let mut rng = Rng::new(0x5eed_0002);
    (0..pool)
        .map(|i| {
            let groups: Vec<Value> = (0..BULK_PROFILES_PER_REQ)
                .map(|g| {
                    let events: Vec<Value> = (0..BULK_EVENTS_PER_PROFILE)
                        .map(|e| {
                            let metric = rng.pick(BULK_METRICS);
                            let mut attrs = json!({
                                "properties": bulk_properties(&mut rng, metric),
                                "time": time(&mut rng),
                                "unique_id": uid(nonce, &format!("{i:03}-{g:03}-{e:02}")),
                                "metric": {"data": {"type": "metric", "attributes": {"name": metric}}},
                            });
                            if metric == "Placed Order" {
                                attrs["value"] = json!(money(1000 + rng.below(20_000)));
                            }
                            json!({"type": "event", "attributes": attrs})
                        })
                        .collect();
                    json!({"type": "event-bulk-create", "attributes": {
                        "profile": {"data": {"type": "profile", "attributes": {"email": email(&mut rng)}}},
                        "events": {"data": events},
                    }})
                })
                .collect();
            let doc = json!({"data": {"type": "event-bulk-create-job", "attributes": {
                "events-bulk-create": {"data": groups},
            }}});
            Body::new(doc.to_string(), (BULK_PROFILES_PER_REQ * BULK_EVENTS_PER_PROFILE) as u64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_slots() {
        let s = single_events(50, "t");
        assert!(s.iter().all(|b| b.slot_count() == 1 && b.events == 1));
        let avg = s.iter().map(Body::len).sum::<usize>() / s.len();
        assert!((600..=800).contains(&avg), "M1a body ~700 B, got {avg}");
        let b = bulk_events(1, "t");
        assert_eq!(b[0].slot_count(), 1000);
        assert_eq!(b[0].events, 1000);
    }
}
