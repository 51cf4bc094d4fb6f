//! The word lists the generator draws from.

pub const FIRST_NAMES: &[&str] = &[
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas", "Mia", "Mateo",
    "Amelia", "Ethan", "Harper", "Ana", "Sarah", "Henry", "Maya", "Leo", "Chloe", "Daniel", "Zoe", "Samuel", "Priya",
    "Wei", "Fatima", "Diego", "Yuki", "Omar",
];

pub const LAST_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Mason",
    "Downing",
    "Nguyen",
    "Patel",
    "Kim",
    "Chen",
    "Silva",
    "Costa",
];

pub const EMAIL_DOMAINS: &[&str] =
    &["example.com", "example.org", "example.net", "mail.example.com", "shopper.example"];

pub const STREETS: &[&str] =
    &["Main St", "Oak Ave", "Franklin St", "Maple Dr", "Cedar Ln", "Park Blvd", "Elm St", "Washington Ave", "Lake Rd"];

pub struct City {
    pub name: &'static str,
    pub region: &'static str,
    pub zip: u32,
    pub area_code: u32,
    pub timezone: &'static str,
    pub lat: f64,
    pub lon: f64,
}

pub const CITIES: &[City] = &[
    City {
        name: "Boston",
        region: "Massachusetts",
        zip: 2108,
        area_code: 617,
        timezone: "America/New_York",
        lat: 42.3601,
        lon: -71.0589,
    },
    City {
        name: "New York",
        region: "New York",
        zip: 10001,
        area_code: 212,
        timezone: "America/New_York",
        lat: 40.7128,
        lon: -74.006,
    },
    City {
        name: "Chicago",
        region: "Illinois",
        zip: 60601,
        area_code: 312,
        timezone: "America/Chicago",
        lat: 41.8781,
        lon: -87.6298,
    },
    City {
        name: "Austin",
        region: "Texas",
        zip: 73301,
        area_code: 512,
        timezone: "America/Chicago",
        lat: 30.2672,
        lon: -97.7431,
    },
    City {
        name: "Denver",
        region: "Colorado",
        zip: 80201,
        area_code: 303,
        timezone: "America/Denver",
        lat: 39.7392,
        lon: -104.9903,
    },
    City {
        name: "Seattle",
        region: "Washington",
        zip: 98101,
        area_code: 206,
        timezone: "America/Los_Angeles",
        lat: 47.6062,
        lon: -122.3321,
    },
    City {
        name: "San Francisco",
        region: "California",
        zip: 94102,
        area_code: 415,
        timezone: "America/Los_Angeles",
        lat: 37.7749,
        lon: -122.4194,
    },
    City {
        name: "Miami",
        region: "Florida",
        zip: 33101,
        area_code: 305,
        timezone: "America/New_York",
        lat: 25.7617,
        lon: -80.1918,
    },
    City {
        name: "Portland",
        region: "Oregon",
        zip: 97201,
        area_code: 503,
        timezone: "America/Los_Angeles",
        lat: 45.5152,
        lon: -122.6784,
    },
    City {
        name: "Atlanta",
        region: "Georgia",
        zip: 30301,
        area_code: 404,
        timezone: "America/New_York",
        lat: 33.749,
        lon: -84.388,
    },
];

pub const CATEGORIES: &[&str] = &["Coffee", "Tea", "Brewing Gear", "Mugs", "Gift Cards", "Subscriptions", "Snacks"];

pub struct Product {
    pub id: &'static str,
    pub name: &'static str,
    pub price: f64,
    pub category: &'static str,
}

pub const PRODUCTS: &[Product] = &[
    Product { id: "1001", name: "Ethiopia Yirgacheffe 12oz", price: 18.5, category: "Coffee" },
    Product { id: "1002", name: "Colombia Huila 12oz", price: 16.0, category: "Coffee" },
    Product { id: "1003", name: "House Espresso Blend 2lb", price: 38.0, category: "Coffee" },
    Product { id: "1004", name: "Decaf Swiss Water 12oz", price: 17.0, category: "Coffee" },
    Product { id: "2001", name: "Jasmine Green Tea", price: 12.0, category: "Tea" },
    Product { id: "2002", name: "Earl Grey Loose Leaf", price: 11.5, category: "Tea" },
    Product { id: "3001", name: "Pour-Over Dripper", price: 29.0, category: "Brewing Gear" },
    Product { id: "3002", name: "Burr Grinder", price: 149.0, category: "Brewing Gear" },
    Product { id: "3003", name: "Gooseneck Kettle", price: 69.0, category: "Brewing Gear" },
    Product { id: "4001", name: "Stoneware Mug", price: 22.0, category: "Mugs" },
    Product { id: "5001", name: "Gift Card $50", price: 50.0, category: "Gift Cards" },
    Product { id: "6001", name: "Monthly Coffee Subscription", price: 32.0, category: "Subscriptions" },
    Product { id: "7001", name: "Dark Chocolate Bar", price: 6.5, category: "Snacks" },
];

pub const CAMPAIGNS: &[&str] =
    &["Welcome Series #1", "Spring Sale", "New Arrivals", "Abandoned Cart", "Win-Back", "VIP Early Access"];

pub const SUBJECTS: &[&str] = &[
    "Welcome to the roastery",
    "20% off everything this weekend",
    "Fresh from the roaster",
    "You left something behind",
    "We miss you",
    "Early access, just for you",
];
