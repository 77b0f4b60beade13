"""The ``shop`` demo source: a PostgreSQL database of an online shop with a subscription plan.

Tables (schema ``public``): ``customers``, ``products``, ``orders``, ``order_items``,
``payments``, ``subscriptions``, ``subscription_events`` and a one-row ``demo_meta`` marker.
Sizes at scale 1: 20k customers, 500 products, 120k orders (~300k items, ~124k payments),
~11k subscriptions with ~124k events. Every table is a pure function of ``(seed, scale)``.

Personal data is synthetic but realistic: names from built-in lists, unique e-mail addresses
on reserved example domains (RFC 2606), E.164 phone numbers, street addresses with postal codes
of the right shape per country, Luhn-valid card numbers from well-known test BIN ranges and
IBANs with a valid ISO 13616 mod-97 checksum (random account numbers, fictitious banks); both
pass the checks of :mod:`scrollintel.checksums`.

Generating model (coefficients are module constants below):

1. Each customer has an order propensity ``a ~ Gamma(1.2, 1)`` and an order-frequency trend
   ``t ~ LogNormal(-0.1, 0.5)``: their orders arrive at rate ``a`` until a breakpoint and at
   rate ``a * t`` after it (``t < 1`` = falling order frequency). The breakpoint is 120 days
   before the end of the observation: the cancellation instant for cancelled subscribers,
   :data:`~scrollintel.demo.AS_OF` for everyone else.
2. 55% of customers hold one subscription (plan basic/plus/premium). Over its life a
   subscription accumulates support tickets ``~ Poisson(0.8 f)``, failed payments
   ``~ Poisson(0.35 g)``, downgrades ``~ Poisson(0.2 f)`` and upgrades ``~ Poisson(0.25)``,
   where ``f ~ Gamma(2, 0.5)`` (friction) and ``g ~ Gamma(1.5, 1/1.5)`` (payment trouble).
3. The subscription is cancelled with probability ``sigmoid(z)``::

       z = -2.3 + 0.6 min(tickets, 5) + 0.75 min(failed, 4) + 0.9 min(downgrades, 2)
           - 0.3 min(upgrades, 2) - 1.0 ln(t)

   so churn rises with support tickets, failed payments, downgrades and falling order
   frequency. A cancellation happens 20-100% of the way from the start to ``AS_OF``; the
   ticket, failure and plan-change events fall uniformly between start and end, a ``renew``
   event every 30 days, ``start`` and ``cancel`` at the ends.

Orders: 1 + Poisson(1.5) items each, product popularity ~ Zipf-like, quantities geometric,
discounts 0-25%. ``orders.total_amount`` is exactly
``round(sum(quantity * unit_price * (1 - discount)), 2)`` (computed in integer hundredths of
a cent). One payment per order in the customer's preferred method (3% of orders also carry
an earlier failed attempt); payments of pending orders have no ``paid_at`` yet.

Idempotence: :func:`seed_shop` records ``(generator version, seed, scale)`` in ``demo_meta``.
When the marker matches, it returns the stored row counts without touching anything (unless
``force=True``); otherwise it drops and recreates the tables in one transaction, so readers
see the old data or the new, never a mix. Dropping loses grants on the tables: a read-only
role should be granted through ``ALTER DEFAULT PRIVILEGES`` as well.

Loading: columns are built with numpy/pyarrow (no per-row Python objects), written as CSV by
Arrow in chunks and streamed through ``COPY ... FROM STDIN (FORMAT csv, FREEZE)`` into tables
created in the same transaction; keys, foreign keys and indexes are added after the load.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrollintel.db import libpq_url
from scrollintel.demo import AS_OF, DEFAULT_SEED, GENERATOR_VERSION, HISTORY_START, demo_sizes
from scrollintel.exceptions import DatabaseError

if TYPE_CHECKING:
    import numpy as np
    import psycopg
    import pyarrow as pa

log = logging.getLogger(__name__)

#: Tables in load order (parents before children).
SHOP_TABLES: tuple[str, ...] = (
    "customers",
    "products",
    "orders",
    "order_items",
    "payments",
    "subscriptions",
    "subscription_events",
)

#: Called after each step with (step name, seconds taken, rows written or 0).
StepCallback = Callable[[str, float, int], None]

DAY = 86_400
_AS_OF_S = int(AS_OF.timestamp())
_START_S = int(HISTORY_START.timestamp())
_TREND_WINDOW_S = 120 * DAY
_RENEW_PERIOD_S = 30 * DAY
_SUBSCRIBER_SHARE = 0.55
_FAILED_ATTEMPT_SHARE = 0.03
_COPY_CHUNK_ROWS = 200_000
_LOCK_KEY = 0x5C011_5E0  # advisory lock: one seeder per database at a time

# Churn model (see the module docstring).
CHURN_INTERCEPT = -2.3
CHURN_PER_TICKET = 0.6
CHURN_PER_FAILED_PAYMENT = 0.75
CHURN_PER_DOWNGRADE = 0.9
CHURN_PER_UPGRADE = -0.3
CHURN_PER_LOG_TREND = -1.0

# ---------------------------------------------------------------------------------------------
# Reference data (hand-aligned tables: kept out of the formatter)
# ---------------------------------------------------------------------------------------------
# fmt: off

FIRST_NAMES: tuple[str, ...] = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
    "Sarah", "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty",
    "Mark", "Sandra", "Steven", "Ashley", "Paul", "Emily", "Andrew", "Michelle", "Joshua",
    "Amanda", "Oliver", "Olivia", "George", "Amelia", "Harry", "Isla", "Jack", "Ava", "Noah",
    "Mia", "Leo", "Sophie", "Lukas", "Anna", "Felix", "Lena", "Jonas", "Laura", "Nora",
    "Hannah", "Maximilian", "Lea", "Elias", "Marie", "Louis", "Chloe", "Gabriel", "Camille",
    "Hugo", "Manon", "Arthur", "Ines", "Jules", "Lucie", "Lucia", "Mateo", "Sofia",
    "Alejandro", "Martina", "Pablo", "Valeria", "Diego", "Carmen", "Javier", "Elena",
    "Daan", "Emma", "Sem", "Julia", "Lars", "Tess", "Finn", "Sanne", "Priya", "Arjun",
    "Wei", "Mei", "Hiroshi", "Yuki", "Omar", "Fatima", "Ahmed", "Aisha", "Kwame", "Amara",
    "Mateus", "Beatriz", "Ivan", "Olga", "Nikos", "Eleni", "Sean", "Siobhan", "Connor",
    "Niamh", "Kai", "Zoe", "Ethan", "Grace", "Liam", "Chen", "Raj", "Ana", "Marco", "Giulia",
)

LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
    "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White",
    "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Evans", "Roberts", "Hughes", "Edwards", "Patel", "Khan", "Murphy", "Kelly",
    "O'Brien", "Byrne", "Walsh", "Muller", "Schmidt", "Schneider", "Fischer", "Weber",
    "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf",
    "Bernard", "Dubois", "Durand", "Lefebvre", "Moreau", "Laurent", "Simon", "Michel",
    "Fournier", "Girard", "Bonnet", "Dupont", "Sanchez", "Ramirez", "Torres", "Flores",
    "Rivera", "Gomez", "Diaz", "Ruiz", "Alonso", "Navarro", "Romero", "de Jong", "Jansen",
    "de Vries", "van den Berg", "van Dijk", "Bakker", "Visser", "Smit", "Meijer", "Mulder",
    "Nguyen", "Wang", "Zhang", "Li", "Chen", "Kim", "Park", "Singh", "Sharma", "Ali",
    "Hassan", "Okafor", "Mensah", "Silva", "Santos", "Costa", "Rossi", "Russo", "Ferrari",
    "Novak", "Kowalski", "Ivanova", "Papadopoulos", "Andersen", "Nielsen", "Larsen",
    "Campbell", "Stewart", "Morgan", "Cooper", "Price", "Bennett", "Ward", "Hayes",
)

_EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.net", "example.org", "mail.example")


@dataclass(frozen=True)
class _Country:
    code: str
    weight: float
    currency: str
    phone_prefix: str
    phone_pattern: str  # '#' = digit, '%' = digit 2-9
    iban_bban: str | None  # '#' = digit, '@' = upper-case letter; None = no IBAN
    number_first: bool  # "12 High Street" vs "Hauptstrasse 12"
    streets: tuple[str, ...]
    cities: tuple[tuple[str, str, str], ...]  # (city, region, postal pattern)


COUNTRIES: tuple[_Country, ...] = (
    _Country(
        "US", 0.40, "USD", "+1", "%##%######", None, True,
        ("Main Street", "Oak Avenue", "Maple Drive", "Cedar Lane", "Park Avenue",
         "Washington Street", "Lake View Road", "Elm Street", "Sunset Boulevard",
         "Pine Street", "Hillcrest Drive", "Madison Avenue", "Church Street", "River Road"),
        (("New York", "NY", "100##"), ("Brooklyn", "NY", "112##"), ("Los Angeles", "CA", "900##"),
         ("San Francisco", "CA", "941##"), ("San Diego", "CA", "921##"), ("Chicago", "IL", "606##"),
         ("Houston", "TX", "770##"), ("Austin", "TX", "787##"), ("Dallas", "TX", "752##"),
         ("Phoenix", "AZ", "850##"), ("Seattle", "WA", "981##"), ("Denver", "CO", "802##"),
         ("Boston", "MA", "021##"), ("Miami", "FL", "331##"), ("Atlanta", "GA", "303##"),
         ("Portland", "OR", "972##")),
    ),
    _Country(
        "GB", 0.15, "GBP", "+44", "7#########", "@@@@##############", True,
        ("High Street", "Station Road", "Church Lane", "Victoria Road", "Green Lane",
         "Manor Road", "Kings Road", "Queen Street", "Mill Lane", "The Crescent"),
        (("London", "Greater London", "SW1A #@@"), ("London", "Greater London", "E1 #@@"),
         ("Manchester", "Greater Manchester", "M1 #@@"), ("Birmingham", "West Midlands", "B1 #@@"),
         ("Leeds", "West Yorkshire", "LS1 #@@"), ("Bristol", "Bristol", "BS1 #@@"),
         ("Edinburgh", "Scotland", "EH1 #@@"), ("Glasgow", "Scotland", "G1 #@@"),
         ("Cardiff", "Wales", "CF10 #@@"), ("Liverpool", "Merseyside", "L1 #@@")),
    ),
    _Country(
        "DE", 0.15, "EUR", "+49", "15#########", "##################", False,
        ("Hauptstrasse", "Schulstrasse", "Bahnhofstrasse", "Gartenstrasse", "Lindenweg",
         "Dorfstrasse", "Bergstrasse", "Kirchweg", "Goethestrasse", "Schillerstrasse"),
        (("Berlin", "Berlin", "10###"), ("Hamburg", "Hamburg", "20###"),
         ("Munich", "Bavaria", "80###"), ("Cologne", "North Rhine-Westphalia", "50###"),
         ("Frankfurt", "Hesse", "60###"), ("Stuttgart", "Baden-Wurttemberg", "70###"),
         ("Leipzig", "Saxony", "04###"), ("Dresden", "Saxony", "01###")),
    ),
    _Country(
        "FR", 0.12, "EUR", "+33", "6########", "#######################", True,
        ("Rue de la Paix", "Avenue Victor Hugo", "Rue du Moulin", "Boulevard Voltaire",
         "Rue de la Republique", "Rue des Lilas", "Avenue Jean Jaures", "Rue Pasteur"),
        (("Paris", "Ile-de-France", "750##"), ("Lyon", "Auvergne-Rhone-Alpes", "6900#"),
         ("Marseille", "Provence-Alpes-Cote d'Azur", "130##"), ("Toulouse", "Occitanie", "310##"),
         ("Nantes", "Pays de la Loire", "440##"), ("Bordeaux", "Nouvelle-Aquitaine", "330##"),
         ("Lille", "Hauts-de-France", "590##")),
    ),
    _Country(
        "ES", 0.10, "EUR", "+34", "6########", "####################", False,
        ("Calle Mayor", "Calle Real", "Avenida de la Constitucion", "Calle del Sol",
         "Paseo de Gracia", "Calle Nueva", "Gran Via", "Calle San Juan"),
        (("Madrid", "Madrid", "280##"), ("Barcelona", "Catalonia", "080##"),
         ("Valencia", "Valencia", "460##"), ("Seville", "Andalusia", "410##"),
         ("Bilbao", "Basque Country", "480##"), ("Malaga", "Andalusia", "290##")),
    ),
    _Country(
        "NL", 0.08, "EUR", "+31", "6########", "@@@@##########", False,
        ("Dorpsstraat", "Kerkstraat", "Schoolstraat", "Molenweg", "Stationsweg",
         "Julianastraat", "Beatrixlaan", "Prinsengracht"),
        (("Amsterdam", "North Holland", "10## @@"), ("Rotterdam", "South Holland", "30## @@"),
         ("The Hague", "South Holland", "25## @@"), ("Utrecht", "Utrecht", "35## @@"),
         ("Eindhoven", "North Brabant", "56## @@"), ("Groningen", "Groningen", "97## @@")),
    ),
)

#: (brand prefix, total length) of card ranges published for testing by payment processors.
CARD_TEST_RANGES: tuple[tuple[str, int], ...] = (
    ("400000", 16),  # Visa
    ("424242", 16),  # Visa
    ("555555", 16),  # Mastercard
    ("222300", 16),  # Mastercard 2-series
    ("378282", 15),  # American Express
)

_CATEGORIES: tuple[tuple[str, str, float, tuple[str, ...]], ...] = (
    # (category, sku code, median price, nouns)
    ("electronics", "ELC", 89.0, ("Headphones", "Speaker", "Charger", "Keyboard", "Mouse",
                                  "Webcam", "Smartwatch", "Power Bank", "Router", "Monitor")),
    ("home", "HOM", 35.0, ("Lamp", "Cushion", "Blanket", "Vase", "Mirror", "Rug", "Clock",
                           "Candle Set", "Picture Frame", "Storage Box")),
    ("kitchen", "KIT", 28.0, ("Kettle", "Pan", "Knife Set", "Blender", "Mug Set", "Toaster",
                              "Cutting Board", "Coffee Grinder", "Teapot", "Salad Bowl")),
    ("apparel", "APP", 42.0, ("T-Shirt", "Hoodie", "Jacket", "Jeans", "Sneakers", "Scarf",
                              "Cap", "Socks", "Raincoat", "Sweater")),
    ("beauty", "BEA", 18.0, ("Face Cream", "Shampoo", "Lip Balm", "Perfume", "Soap",
                             "Hair Oil", "Sunscreen", "Body Lotion", "Face Mask", "Serum")),
    ("sports", "SPT", 45.0, ("Yoga Mat", "Water Bottle", "Dumbbells", "Running Belt",
                             "Tennis Balls", "Jump Rope", "Backpack", "Cycling Gloves",
                             "Resistance Bands", "Foam Roller")),
    ("books", "BOK", 16.0, ("Cookbook", "Novel", "Travel Guide", "Notebook", "Planner",
                            "Atlas", "Sketchbook", "Biography", "Poetry Collection", "Comic")),
    ("toys", "TOY", 24.0, ("Puzzle", "Building Blocks", "Board Game", "Plush Bear",
                           "Kite", "Toy Car", "Card Game", "Doll House", "Marble Run", "Robot Kit")),
)
_ADJECTIVES: tuple[str, ...] = (
    "Classic", "Eco", "Pro", "Compact", "Deluxe", "Essential", "Urban", "Nordic", "Vintage",
    "Smart", "Premium", "Everyday", "Travel", "Studio", "Organic", "Lite",
)

# fmt: on

_ORDER_CHANNELS = ("web", "mobile_app", "marketplace", "phone")
_ORDER_CHANNEL_P = (0.55, 0.35, 0.07, 0.03)
_DISCOUNT_PCT = (0, 5, 10, 15, 20, 25)
_DISCOUNT_P = (0.70, 0.10, 0.10, 0.05, 0.03, 0.02)
_PLANS = ("basic", "plus", "premium")
_PLAN_FEE_CENTS = (999, 1999, 3999)
_PLAN_P = (0.55, 0.30, 0.15)
_PAYMENT_METHODS = ("card", "bank_transfer", "wallet")
_EVENT_TYPES = ("start", "renew", "upgrade", "downgrade", "support_ticket", "payment_failed", "cancel")

# ---------------------------------------------------------------------------------------------
# DDL
# ---------------------------------------------------------------------------------------------

_CREATE_TABLES = """
CREATE TABLE customers (
    customer_id bigint NOT NULL,
    first_name text NOT NULL,
    last_name text NOT NULL,
    email text NOT NULL,
    phone text NOT NULL,
    street_address text NOT NULL,
    city text NOT NULL,
    region text NOT NULL,
    postal_code text NOT NULL,
    country char(2) NOT NULL,
    birth_date date NOT NULL,
    signup_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE TABLE products (
    product_id integer NOT NULL,
    sku text NOT NULL,
    name text NOT NULL,
    category text NOT NULL,
    unit_price numeric(10,2) NOT NULL,
    active boolean NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE TABLE orders (
    order_id bigint NOT NULL,
    customer_id bigint NOT NULL,
    ordered_at timestamptz NOT NULL,
    status text NOT NULL,
    channel text NOT NULL,
    total_amount numeric(12,2) NOT NULL,
    currency char(3) NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE TABLE order_items (
    order_item_id bigint NOT NULL,
    order_id bigint NOT NULL,
    product_id integer NOT NULL,
    quantity integer NOT NULL CHECK (quantity > 0),
    unit_price numeric(10,2) NOT NULL,
    discount numeric(5,2) NOT NULL CHECK (discount >= 0 AND discount < 1)
);
CREATE TABLE payments (
    payment_id bigint NOT NULL,
    order_id bigint NOT NULL,
    paid_at timestamptz,
    method text NOT NULL CHECK (method IN ('card', 'bank_transfer', 'wallet')),
    card_number text,
    iban text,
    amount numeric(12,2) NOT NULL,
    status text NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE TABLE subscriptions (
    subscription_id bigint NOT NULL,
    customer_id bigint NOT NULL,
    plan text NOT NULL,
    started_at timestamptz NOT NULL,
    cancelled_at timestamptz,
    monthly_fee numeric(8,2) NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE TABLE subscription_events (
    event_id bigint NOT NULL,
    customer_id bigint NOT NULL,
    subscription_id bigint NOT NULL,
    event_type text NOT NULL CHECK (event_type IN
        ('start', 'renew', 'upgrade', 'downgrade', 'support_ticket', 'payment_failed', 'cancel')),
    occurred_at timestamptz NOT NULL
);
CREATE TABLE demo_meta (
    generator_version integer NOT NULL,
    seed bigint NOT NULL,
    scale double precision NOT NULL,
    row_counts jsonb NOT NULL,
    seeded_at timestamptz NOT NULL DEFAULT now(),
    seconds double precision NOT NULL
);
COMMENT ON TABLE demo_meta IS 'Synthetic demo data marker: generator version, seed and scale of the current load.';
"""

_CONSTRAINTS = """
ALTER TABLE customers ADD PRIMARY KEY (customer_id);
ALTER TABLE products ADD PRIMARY KEY (product_id);
ALTER TABLE orders ADD PRIMARY KEY (order_id);
ALTER TABLE order_items ADD PRIMARY KEY (order_item_id);
ALTER TABLE payments ADD PRIMARY KEY (payment_id);
ALTER TABLE subscriptions ADD PRIMARY KEY (subscription_id);
ALTER TABLE subscription_events ADD PRIMARY KEY (event_id);
CREATE UNIQUE INDEX customers_email_key ON customers (email);
CREATE UNIQUE INDEX products_sku_key ON products (sku);
ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey
    FOREIGN KEY (customer_id) REFERENCES customers (customer_id);
ALTER TABLE order_items ADD CONSTRAINT order_items_order_id_fkey
    FOREIGN KEY (order_id) REFERENCES orders (order_id);
ALTER TABLE order_items ADD CONSTRAINT order_items_product_id_fkey
    FOREIGN KEY (product_id) REFERENCES products (product_id);
ALTER TABLE payments ADD CONSTRAINT payments_order_id_fkey
    FOREIGN KEY (order_id) REFERENCES orders (order_id);
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_customer_id_fkey
    FOREIGN KEY (customer_id) REFERENCES customers (customer_id);
ALTER TABLE subscription_events ADD CONSTRAINT subscription_events_subscription_id_fkey
    FOREIGN KEY (subscription_id) REFERENCES subscriptions (subscription_id);
ALTER TABLE subscription_events ADD CONSTRAINT subscription_events_customer_id_fkey
    FOREIGN KEY (customer_id) REFERENCES customers (customer_id);
CREATE INDEX customers_updated_at_idx ON customers (updated_at);
CREATE INDEX products_updated_at_idx ON products (updated_at);
CREATE INDEX orders_updated_at_idx ON orders (updated_at);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
CREATE INDEX order_items_order_id_idx ON order_items (order_id);
CREATE INDEX order_items_product_id_idx ON order_items (product_id);
CREATE INDEX payments_updated_at_idx ON payments (updated_at);
CREATE INDEX payments_order_id_idx ON payments (order_id);
CREATE INDEX subscriptions_updated_at_idx ON subscriptions (updated_at);
CREATE INDEX subscriptions_customer_id_idx ON subscriptions (customer_id);
CREATE INDEX subscription_events_occurred_at_idx ON subscription_events (occurred_at);
CREATE INDEX subscription_events_subscription_id_idx ON subscription_events (subscription_id);
CREATE INDEX subscription_events_customer_id_idx ON subscription_events (customer_id);
"""

# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def seed_shop(
    url: str,
    *,
    scale: float = 1.0,
    seed: int = DEFAULT_SEED,
    force: bool = False,
    on_step: StepCallback | None = None,
) -> dict[str, int]:
    """Create and fill the ``shop`` tables in the database at ``url``; return row counts.

    Args:
        url: SQLAlchemy-style (``postgresql+psycopg://``) or libpq URL of an existing database.
        scale: size multiplier (1.0 = 20k customers, 120k orders).
        seed: seed of the numpy random generator; same seed and scale give the same rows.
        force: reload even when ``demo_meta`` says this seed and scale are already loaded.
        on_step: optional progress callback ``(step, seconds, rows)``.

    Raises:
        ConfigError: ``scale`` is not a positive number.
        DatabaseError: the database cannot be reached or the load fails.
    """
    demo_sizes(scale)  # validate before connecting
    started = time.perf_counter()
    report = on_step or (lambda _step, _seconds, _rows: None)
    conninfo = libpq_url(url)

    if not force:
        existing = _existing_counts(conninfo, seed=seed, scale=scale)
        if existing is not None:
            log.info("shop demo data already loaded (seed=%s, scale=%s): skipped", seed, scale)
            report("already loaded", time.perf_counter() - started, 0)
            return existing

    step = time.perf_counter()
    tables = generate_shop_tables(scale=scale, seed=seed)
    counts = {name: tables[name].num_rows for name in SHOP_TABLES}
    report("generate", time.perf_counter() - step, sum(counts.values()))

    import psycopg

    try:
        with psycopg.connect(conninfo) as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            conn.execute(_drop_sql())
            conn.execute(_CREATE_TABLES)
            for name in SHOP_TABLES:
                step = time.perf_counter()
                _copy_table(conn, name, tables[name])
                report(f"load {name}", time.perf_counter() - step, counts[name])
            step = time.perf_counter()
            # Index builds sort in memory when they can; the default 64MB spills at scale 10.
            conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
            conn.execute(_CONSTRAINTS)
            report("keys and indexes", time.perf_counter() - step, 0)
            conn.execute(
                "INSERT INTO demo_meta (generator_version, seed, scale, row_counts, seconds)"
                " VALUES (%s, %s, %s, %s, %s)",
                (GENERATOR_VERSION, seed, float(scale), json.dumps(counts), time.perf_counter() - started),
            )
    except psycopg.Error as err:
        raise DatabaseError(f"could not load the shop demo data into database {_dbname(url)!r}: {err}") from err

    step = time.perf_counter()
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("ANALYZE " + ", ".join(SHOP_TABLES))
    except psycopg.Error as err:  # statistics are an optimisation: the data is committed
        log.warning("ANALYZE after the shop demo load failed: %s", err)
    report("analyze", time.perf_counter() - step, 0)
    log.info(
        "shop demo data loaded (seed=%s, scale=%s): %s rows in %.1f s",
        seed,
        scale,
        sum(counts.values()),
        time.perf_counter() - started,
    )
    return counts


def generate_shop_tables(*, scale: float = 1.0, seed: int = DEFAULT_SEED) -> dict[str, pa.Table]:
    """Build every shop table in memory as Arrow tables (column names as in the database).

    Money columns are float64 holding exact cents (written as e.g. ``12.5``), which PostgreSQL
    parses into ``numeric`` without loss.
    """
    import numpy as np

    sizes = demo_sizes(scale)
    rng = np.random.default_rng(seed)
    customers, cust = _customers(rng, sizes.customers)
    products, price_cents = _products(rng, sizes.products)
    subscriptions, events, breakpoint_s = _subscriptions(rng, cust)
    orders, order_items, order_info = _orders(rng, sizes.orders, cust, breakpoint_s, price_cents)
    payments = _payments(rng, cust, order_info)
    return {
        "customers": customers,
        "products": products,
        "orders": orders,
        "order_items": order_items,
        "payments": payments,
        "subscriptions": subscriptions,
        "subscription_events": events,
    }


# ---------------------------------------------------------------------------------------------
# Database helpers
# ---------------------------------------------------------------------------------------------


def _dbname(url: str) -> str:
    match = re.search(r"/([^/?]+)(?:\?|$)", url.split("://", 1)[-1])
    return match.group(1) if match else "?"


def _drop_sql() -> str:
    names = ", ".join((*reversed(SHOP_TABLES), "demo_meta"))
    return f"DROP TABLE IF EXISTS {names} CASCADE"


def _existing_counts(conninfo: str, *, seed: int, scale: float) -> dict[str, int] | None:
    import psycopg

    try:
        with psycopg.connect(conninfo) as conn:
            if conn.execute("SELECT to_regclass('public.demo_meta')").fetchone() == (None,):
                return None
            row = conn.execute(
                "SELECT row_counts FROM demo_meta WHERE generator_version = %s AND seed = %s AND scale = %s",
                (GENERATOR_VERSION, seed, float(scale)),
            ).fetchone()
            if row is None:
                return None
            stored: dict[str, int] = {str(k): int(v) for k, v in row[0].items()}
            # The marker alone is not proof: someone may have dropped or emptied a table.
            for name in SHOP_TABLES:
                if conn.execute("SELECT to_regclass(%s)", (f"public.{name}",)).fetchone() == (None,):
                    return None
                actual = conn.execute(f"SELECT count(*) FROM {name}").fetchone()
                if actual is None or actual[0] != stored.get(name):
                    return None
            return {name: stored[name] for name in SHOP_TABLES}
    except psycopg.Error as err:
        raise DatabaseError(f"could not read the shop database {_dbname(conninfo)!r}: {err}") from err


def _copy_table(conn: psycopg.Connection[Any], name: str, table: pa.Table) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    columns = ", ".join(table.column_names)
    options = pacsv.WriteOptions(include_header=False, batch_size=16_384)
    with conn.cursor() as cur, cur.copy(f"COPY {name} ({columns}) FROM STDIN (FORMAT csv, FREEZE true)") as copy:
        for offset in range(0, table.num_rows, _COPY_CHUNK_ROWS):
            sink = pa.BufferOutputStream()
            pacsv.write_csv(table.slice(offset, _COPY_CHUNK_ROWS), sink, options)
            copy.write(memoryview(sink.getvalue()))


# ---------------------------------------------------------------------------------------------
# Vectorised building blocks
# ---------------------------------------------------------------------------------------------


def _pattern_chars(rng: np.random.Generator, pattern: str, n: int) -> np.ndarray:
    """(n, len(pattern)) ASCII codes: '#' digit, '%' digit 2-9, '@' upper-case letter."""
    import numpy as np

    out = np.empty((n, len(pattern)), dtype=np.uint8)
    for col, char in enumerate(pattern):
        if char == "#":
            out[:, col] = rng.integers(48, 58, n)
        elif char == "%":
            out[:, col] = rng.integers(50, 58, n)
        elif char == "@":
            out[:, col] = rng.integers(65, 91, n)
        else:
            out[:, col] = ord(char)
    return out


def _chars_to_strings(chars: np.ndarray) -> pa.Array:
    import numpy as np
    import pyarrow as pa

    if chars.shape[0] == 0:
        return pa.array([], type=pa.string())
    fixed = np.ascontiguousarray(chars).view(f"S{chars.shape[1]}").ravel()
    return pa.array(fixed).cast(pa.string())


def _scatter(n: int, parts: Sequence[tuple[np.ndarray, pa.Array]]) -> pa.Array:
    """Assemble one string column from per-group values and their row positions."""
    import numpy as np
    import pyarrow as pa

    positions = np.concatenate([pos for pos, _ in parts])
    values = pa.concat_arrays([vals for _, vals in parts])
    order = np.empty(n, dtype=np.int64)
    order[positions] = np.arange(n)
    return values.take(pa.array(order))


def _luhn_numbers(rng: np.random.Generator, prefix: str, length: int, n: int) -> np.ndarray:
    import numpy as np

    body = _pattern_chars(rng, prefix + "#" * (length - 1 - len(prefix)), n)
    digits = body.astype(np.int64) - 48
    # Double every second digit counted from the right of the body (the check digit follows).
    doubled = np.arange(length - 1)[::-1] % 2 == 0
    values = np.where(doubled, digits * 2, digits)
    values = np.where(values > 9, values - 9, values)
    check = (10 - values.sum(axis=1) % 10) % 10
    return np.concatenate([body, (check + 48).astype(np.uint8)[:, None]], axis=1)


def _ibans(rng: np.random.Generator, country: str, bban_pattern: str, n: int) -> np.ndarray:
    import numpy as np

    bban = _pattern_chars(rng, bban_pattern, n)
    remainder = np.zeros(n, dtype=np.int64)

    def fold(codes: np.ndarray) -> None:
        nonlocal remainder
        digit = codes.astype(np.int64) >= 65
        value = np.where(digit, codes.astype(np.int64) - 55, codes.astype(np.int64) - 48)
        remainder = np.where(digit, remainder * 100 + value, remainder * 10 + value) % 97

    for col in range(bban.shape[1]):
        fold(bban[:, col])
    for char in country + "00":
        fold(np.full(n, ord(char), dtype=np.uint8))
    check = 98 - remainder
    head = np.empty((n, 4), dtype=np.uint8)
    head[:, 0] = ord(country[0])
    head[:, 1] = ord(country[1])
    head[:, 2] = check // 10 + 48
    head[:, 3] = check % 10 + 48
    return np.concatenate([head, bban], axis=1)


def _ts(seconds: np.ndarray) -> pa.Array:
    import numpy as np
    import pyarrow as pa

    return pa.array(np.asarray(seconds, dtype=np.int64), type=pa.timestamp("s", tz="UTC"))


def _ts_nullable(seconds: np.ndarray, valid: np.ndarray) -> pa.Array:
    import numpy as np
    import pyarrow as pa

    return pa.array(np.asarray(seconds, dtype=np.int64), type=pa.timestamp("s", tz="UTC"), mask=~valid)


def _money(cents: np.ndarray) -> pa.Array:
    import numpy as np
    import pyarrow as pa

    return pa.array(np.asarray(cents, dtype=np.int64) / 100.0, type=pa.float64())


def _pick(values: Sequence[str], index: np.ndarray) -> pa.Array:
    import pyarrow as pa

    return pa.array(values, type=pa.string()).take(pa.array(index))


def _uniform_between(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    import numpy as np

    span = np.maximum(np.asarray(hi) - np.asarray(lo), 0)
    return (np.asarray(lo) + np.floor(rng.random(len(span)) * span)).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------


@dataclass
class _CustomerFacts:
    """Per-customer arrays the other tables depend on (index = customer_id - 1)."""

    ids: np.ndarray
    country: np.ndarray  # index into COUNTRIES
    signup_s: np.ndarray
    propensity: np.ndarray
    trend: np.ndarray
    method: np.ndarray  # preferred payment method, index into _PAYMENT_METHODS
    card: pa.Array
    iban: pa.Array


def _customers(rng: np.random.Generator, n: int) -> tuple[pa.Table, _CustomerFacts]:
    import numpy as np
    import pyarrow as pa

    ids = np.arange(1, n + 1, dtype=np.int64)
    weights = np.array([c.weight for c in COUNTRIES])
    country = rng.choice(len(COUNTRIES), size=n, p=weights / weights.sum())
    first = _pick(FIRST_NAMES, rng.integers(0, len(FIRST_NAMES), n))
    last = _pick(LAST_NAMES, rng.integers(0, len(LAST_NAMES), n))
    email = _emails(rng, first, last, ids)
    address = _addresses(rng, country)
    phone = _scatter(
        n,
        [
            (pos, _chars_to_strings(_pattern_chars(rng, spec.phone_prefix + spec.phone_pattern, len(pos))))
            for pos, spec in ((np.flatnonzero(country == ci), spec) for ci, spec in enumerate(COUNTRIES))
        ],
    )
    birth_day = _AS_OF_S // DAY - rng.integers(6576, 31_046, n)  # aged 18 to 84 at AS_OF
    signup_s = _uniform_between(rng, np.full(n, _START_S), np.full(n, _AS_OF_S - 45 * DAY))
    changed = rng.random(n) < 0.6
    updated_s = np.where(changed, _uniform_between(rng, signup_s, np.full(n, _AS_OF_S)), signup_s)
    method, card, iban = _instruments(rng, country)
    facts = _CustomerFacts(
        ids=ids,
        country=country,
        signup_s=signup_s,
        propensity=rng.gamma(1.2, 1.0, n),
        trend=rng.lognormal(-0.1, 0.5, n),
        method=method,
        card=card,
        iban=iban,
    )
    table = pa.table(
        {
            "customer_id": pa.array(ids),
            "first_name": first,
            "last_name": last,
            "email": email,
            "phone": phone,
            **address,
            "country": _pick([c.code for c in COUNTRIES], country),
            "birth_date": pa.array(birth_day.astype(np.int32), type=pa.date32()),
            "signup_at": _ts(signup_s),
            "updated_at": _ts(updated_s),
        }
    )
    return table, facts


def _emails(rng: np.random.Generator, first: pa.Array, last: pa.Array, ids: np.ndarray) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    first_l = pc.replace_substring_regex(pc.utf8_lower(first), "[^a-z]", "")
    last_l = pc.replace_substring_regex(pc.utf8_lower(last), "[^a-z]", "")
    initial = pc.utf8_slice_codeunits(first_l, 0, 1)
    id_text = pc.cast(pa.array(ids), pa.string())
    # Every pattern ends with the customer id right before '@', so addresses are unique.
    local_parts = [
        pc.binary_join_element_wise(first_l, ".", last_l, id_text, ""),
        pc.binary_join_element_wise(initial, last_l, id_text, ""),
        pc.binary_join_element_wise(first_l, "_", last_l, "_", id_text, ""),
        pc.binary_join_element_wise(last_l, ".", first_l, id_text, ""),
    ]
    style = rng.integers(0, len(local_parts), len(ids))
    local = local_parts[0]
    for k in range(1, len(local_parts)):
        local = pc.if_else(pa.array(style == k), local_parts[k], local)
    domain = _pick(_EMAIL_DOMAINS, rng.integers(0, len(_EMAIL_DOMAINS), len(ids)))
    return pc.binary_join_element_wise(local, "@", domain, "")


def _addresses(rng: np.random.Generator, country: np.ndarray) -> dict[str, pa.Array]:
    """street_address, city, region, postal_code: a city and street of the customer's country."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(country)
    city_rows = [city for c in COUNTRIES for city in c.cities]
    city_offset = np.cumsum([0] + [len(c.cities) for c in COUNTRIES])[:-1]
    city_count = np.array([len(c.cities) for c in COUNTRIES])
    city_idx = city_offset[country] + (rng.random(n) * city_count[country]).astype(np.int64)
    street_names = [s for c in COUNTRIES for s in c.streets]
    street_offset = np.cumsum([0] + [len(c.streets) for c in COUNTRIES])[:-1]
    street_count = np.array([len(c.streets) for c in COUNTRIES])
    street_idx = street_offset[country] + (rng.random(n) * street_count[country]).astype(np.int64)
    street = _pick(street_names, street_idx)
    house = pc.cast(pa.array(rng.integers(1, 240, n)), pa.string())
    number_first = np.array([c.number_first for c in COUNTRIES])[country]
    postal_parts = []
    for idx, (_, _, pattern) in enumerate(city_rows):
        pos = np.flatnonzero(city_idx == idx)
        postal_parts.append((pos, _chars_to_strings(_pattern_chars(rng, pattern, len(pos)))))
    return {
        "street_address": pc.if_else(
            pa.array(number_first),
            pc.binary_join_element_wise(house, street, " "),
            pc.binary_join_element_wise(street, house, " "),
        ),
        "city": _pick([row[0] for row in city_rows], city_idx),
        "region": _pick([row[1] for row in city_rows], city_idx),
        "postal_code": _scatter(n, postal_parts),
    }


def _instruments(rng: np.random.Generator, country: np.ndarray) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """Preferred payment method, card number and IBAN the customer reuses for every order."""
    import numpy as np
    import pyarrow as pa

    n = len(country)
    has_iban = np.array([c.iban_bban is not None for c in COUNTRIES])[country]
    method = np.where(
        has_iban,
        rng.choice(3, size=n, p=(0.55, 0.30, 0.15)),
        rng.choice(3, size=n, p=(0.78, 0.0, 0.22)),
    )
    brand = rng.integers(0, len(CARD_TEST_RANGES), n)
    card_parts = []
    for bi, (prefix, length) in enumerate(CARD_TEST_RANGES):
        pos = np.flatnonzero(brand == bi)
        card_parts.append((pos, _chars_to_strings(_luhn_numbers(rng, prefix, length, len(pos)))))
    iban_parts = []
    for ci, spec in enumerate(COUNTRIES):
        pos = np.flatnonzero(country == ci)
        if spec.iban_bban is None:
            iban_parts.append((pos, pa.nulls(len(pos), type=pa.string())))
        else:
            iban_parts.append((pos, _chars_to_strings(_ibans(rng, spec.code, spec.iban_bban, len(pos)))))
    return method, _scatter(n, card_parts), _scatter(n, iban_parts)


def _products(rng: np.random.Generator, n: int) -> tuple[pa.Table, np.ndarray]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = np.arange(1, n + 1, dtype=np.int64)
    category = rng.integers(0, len(_CATEGORIES), n)
    median = np.array([c[2] for c in _CATEGORIES])[category]
    price = np.clip(median * rng.lognormal(0.0, 0.6, n), 2.0, 2_000.0)
    price_cents = (np.floor(price) * 100 + 99).astype(np.int64)  # shop prices end in .99
    nouns = [noun for c in _CATEGORIES for noun in c[3]]
    noun_idx = category * 10 + rng.integers(0, 10, n)
    name = pc.binary_join_element_wise(
        _pick(_ADJECTIVES, rng.integers(0, len(_ADJECTIVES), n)), _pick(nouns, noun_idx), " "
    )
    sku = pc.binary_join_element_wise(
        _pick([c[1] for c in _CATEGORIES], category),
        pc.utf8_lpad(pc.cast(pa.array(ids), pa.string()), 6, "0"),
        "-",
    )
    updated_s = _uniform_between(rng, np.full(n, _START_S), np.full(n, _AS_OF_S))
    table = pa.table(
        {
            "product_id": pa.array(ids.astype(np.int32)),
            "sku": sku,
            "name": name,
            "category": _pick([c[0] for c in _CATEGORIES], category),
            "unit_price": _money(price_cents),
            "active": pa.array(rng.random(n) < 0.92),
            "updated_at": _ts(updated_s),
        }
    )
    return table, price_cents


def _subscriptions(rng: np.random.Generator, cust: _CustomerFacts) -> tuple[pa.Table, pa.Table, np.ndarray]:
    """Subscriptions, their event history and each customer's order-trend breakpoint."""
    import numpy as np
    import pyarrow as pa

    n_cust = len(cust.ids)
    holder = np.flatnonzero(rng.random(n_cust) < _SUBSCRIBER_SHARE)
    signup = cust.signup_s[holder]
    started = _uniform_between(rng, signup, np.maximum(signup + DAY, _AS_OF_S - 30 * DAY))
    order = np.lexsort((holder, started))  # subscription ids follow start time
    holder, started = holder[order], started[order]
    n = len(holder)
    sub_ids = np.arange(1, n + 1, dtype=np.int64)

    friction = rng.gamma(2.0, 0.5, n)
    trouble = rng.gamma(1.5, 1 / 1.5, n)
    tickets = rng.poisson(0.8 * friction)
    failed = rng.poisson(0.35 * trouble)
    plan0 = rng.choice(len(_PLANS), size=n, p=_PLAN_P)
    ups = np.minimum(rng.poisson(0.25, n), len(_PLANS) - 1 - plan0)
    downs = np.minimum(rng.poisson(0.2 * friction), plan0 + ups)
    plan = plan0 + ups - downs
    z = (
        CHURN_INTERCEPT
        + CHURN_PER_TICKET * np.minimum(tickets, 5)
        + CHURN_PER_FAILED_PAYMENT * np.minimum(failed, 4)
        + CHURN_PER_DOWNGRADE * np.minimum(downs, 2)
        + CHURN_PER_UPGRADE * np.minimum(ups, 2)
        + CHURN_PER_LOG_TREND * np.log(cust.trend[holder])
    )
    cancelled = rng.random(n) < 1.0 / (1.0 + np.exp(-z))
    cancel_s = np.maximum(
        started + np.floor((0.2 + 0.8 * rng.random(n)) * (_AS_OF_S - started)).astype(np.int64),
        started + DAY,
    )
    end_s = np.where(cancelled, cancel_s, _AS_OF_S)

    ev_sub, ev_type, ev_time = _timeline(
        rng, started, end_s, np.flatnonzero(cancelled), {2: ups, 3: downs, 4: tickets, 5: failed}
    )
    last_event = np.zeros(n, dtype=np.int64)
    np.maximum.at(last_event, ev_sub, ev_time)

    subscriptions = pa.table(
        {
            "subscription_id": pa.array(sub_ids),
            "customer_id": pa.array(cust.ids[holder]),
            "plan": _pick(_PLANS, plan),
            "started_at": _ts(started),
            "cancelled_at": _ts_nullable(cancel_s, cancelled),
            "monthly_fee": _money(np.array(_PLAN_FEE_CENTS)[plan]),
            "updated_at": _ts(last_event),
        }
    )
    events = pa.table(
        {
            "event_id": pa.array(np.arange(1, len(ev_sub) + 1, dtype=np.int64)),
            "customer_id": pa.array(cust.ids[holder][ev_sub]),
            "subscription_id": pa.array(sub_ids[ev_sub]),
            "event_type": _pick(_EVENT_TYPES, ev_type),
            "occurred_at": _ts(ev_time),
        }
    )
    breakpoint_s = np.full(n_cust, _AS_OF_S - _TREND_WINDOW_S, dtype=np.int64)
    breakpoint_s[holder[cancelled]] = cancel_s[cancelled] - _TREND_WINDOW_S
    breakpoint_s = np.maximum(breakpoint_s, cust.signup_s)
    return subscriptions, events, breakpoint_s


def _timeline(
    rng: np.random.Generator,
    started: np.ndarray,
    end_s: np.ndarray,
    cancelled: np.ndarray,
    counts: dict[int, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Subscription events as (subscription index, event type index, time), in time order."""
    import numpy as np

    n = len(started)
    sub_idx_parts = [np.arange(n)]
    type_parts = [np.zeros(n, dtype=np.int64)]
    time_parts = [started]
    renewals = np.maximum((end_s - started - 1) // _RENEW_PERIOD_S, 0)
    renew_sub = np.repeat(np.arange(n), renewals)
    renew_k = np.arange(len(renew_sub)) - np.repeat(np.cumsum(renewals) - renewals, renewals) + 1
    sub_idx_parts.append(renew_sub)
    type_parts.append(np.full(len(renew_sub), 1))
    time_parts.append(started[renew_sub] + renew_k * _RENEW_PERIOD_S)
    for type_index, per_sub in counts.items():
        idx = np.repeat(np.arange(n), per_sub)
        sub_idx_parts.append(idx)
        type_parts.append(np.full(len(idx), type_index))
        time_parts.append(_uniform_between(rng, started[idx] + 1, end_s[idx]))
    sub_idx_parts.append(cancelled)
    type_parts.append(np.full(len(cancelled), len(_EVENT_TYPES) - 1))
    time_parts.append(end_s[cancelled])
    ev_sub = np.concatenate(sub_idx_parts)
    ev_type = np.concatenate(type_parts)
    ev_time = np.concatenate(time_parts)
    order = np.lexsort((ev_type, ev_sub, ev_time))
    return ev_sub[order], ev_type[order], ev_time[order]


@dataclass
class _OrderFacts:
    customer_index: np.ndarray
    ordered_s: np.ndarray
    updated_s: np.ndarray
    status: np.ndarray  # index into _ORDER_STATUSES
    total_cents: np.ndarray


_ORDER_STATUSES = ("pending", "shipped", "delivered", "cancelled", "returned")


def _orders(
    rng: np.random.Generator,
    n: int,
    cust: _CustomerFacts,
    breakpoint_s: np.ndarray,
    price_cents: np.ndarray,
) -> tuple[pa.Table, pa.Table, _OrderFacts]:
    import numpy as np
    import pyarrow as pa

    early = (breakpoint_s - cust.signup_s).astype(np.float64)
    late = (_AS_OF_S - breakpoint_s).astype(np.float64)
    exposure = cust.propensity * (early + cust.trend * late)
    who = rng.choice(len(cust.ids), size=n, p=exposure / exposure.sum())
    late_share = (cust.trend * late / (early + cust.trend * late))[who]
    in_late = rng.random(n) < late_share
    lo = np.where(in_late, breakpoint_s[who], cust.signup_s[who])
    hi = np.where(in_late, _AS_OF_S, breakpoint_s[who])
    ordered_s = _uniform_between(rng, lo, hi)
    order = np.lexsort((who, ordered_s))  # order ids follow time
    who, ordered_s = who[order], ordered_s[order]
    order_ids = np.arange(1, n + 1, dtype=np.int64)

    age = _AS_OF_S - ordered_s
    draw = rng.random(n)
    status = np.where(
        age < 2 * DAY,
        np.select([draw < 0.70, draw < 0.95], [0, 1], 3),
        np.where(
            age < 7 * DAY,
            np.select([draw < 0.70, draw < 0.95], [1, 2], 3),
            np.select([draw < 0.90, draw < 0.95], [2, 3], 4),
        ),
    )
    # (min, max) delay of the last status change per status
    delay_lo = np.array([0, DAY, 2 * DAY, 3600, 10 * DAY])[status]
    delay_hi = np.array([DAY, 2 * DAY, 7 * DAY, 2 * DAY, 30 * DAY])[status]
    updated_s = np.minimum(ordered_s + _uniform_between(rng, delay_lo, delay_hi), _AS_OF_S)

    # Items: 1 + Poisson(1.5) per order, popular products more often.
    n_items = 1 + rng.poisson(1.5, n)
    item_order = np.repeat(np.arange(n), n_items)
    m = len(item_order)
    popularity = 1.0 / np.power(rng.permutation(len(price_cents)) + 1.0, 0.9)
    product = rng.choice(len(price_cents), size=m, p=popularity / popularity.sum())
    quantity = np.minimum(rng.geometric(0.65, m), 12)
    discount_pct = rng.choice(_DISCOUNT_PCT, size=m, p=_DISCOUNT_P)
    unit_cents = price_cents[product]
    # Line value in hundredths of a cent: exact integer arithmetic, rounded once per order.
    line = quantity * unit_cents * (100 - discount_pct)
    starts = np.cumsum(n_items) - n_items
    total_cents = (np.add.reduceat(line, starts) + 50) // 100

    orders = pa.table(
        {
            "order_id": pa.array(order_ids),
            "customer_id": pa.array(cust.ids[who]),
            "ordered_at": _ts(ordered_s),
            "status": _pick(_ORDER_STATUSES, status),
            "channel": _pick(_ORDER_CHANNELS, rng.choice(len(_ORDER_CHANNELS), size=n, p=_ORDER_CHANNEL_P)),
            "total_amount": _money(total_cents),
            "currency": _pick([c.currency for c in COUNTRIES], cust.country[who]),
            "updated_at": _ts(updated_s),
        }
    )
    items = pa.table(
        {
            "order_item_id": pa.array(np.arange(1, m + 1, dtype=np.int64)),
            "order_id": pa.array(order_ids[item_order]),
            "product_id": pa.array((product + 1).astype(np.int32)),
            "quantity": pa.array(quantity.astype(np.int32)),
            "unit_price": _money(unit_cents),
            "discount": pa.array(discount_pct / 100.0),
        }
    )
    return orders, items, _OrderFacts(who, ordered_s, updated_s, status, total_cents)


def _payments(rng: np.random.Generator, cust: _CustomerFacts, orders: _OrderFacts) -> pa.Table:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(orders.ordered_s)
    method = cust.method[orders.customer_index]
    is_bank = method == 1
    pending = orders.status == 0
    refunded = (orders.status == 3) | (orders.status == 4)
    # Cards and wallets settle in minutes, bank transfers within hours or days.
    delay = np.where(
        is_bank,
        _uniform_between(rng, np.full(n, 2 * 3600), np.full(n, 3 * DAY)),
        _uniform_between(rng, np.full(n, 5), np.full(n, 300)),
    )
    paid_s = np.minimum(orders.ordered_s + delay, _AS_OF_S)
    status = np.where(pending, 1, np.where(refunded, 3, 0))  # index into _PAYMENT_STATUSES
    updated_s = np.where(
        pending,
        orders.ordered_s,
        np.where(refunded, np.maximum(paid_s, orders.updated_s), paid_s),
    )

    # Some orders first saw a declined attempt seconds after checkout.
    retry = np.flatnonzero(rng.random(n) < _FAILED_ATTEMPT_SHARE)
    failed_s = orders.ordered_s[retry] + rng.integers(1, 5, len(retry))

    order_index = np.concatenate([retry, np.arange(n)])
    attempt = np.concatenate([np.zeros(len(retry), dtype=np.int64), np.ones(n, dtype=np.int64)])
    paid_all = np.concatenate([failed_s, paid_s])
    has_paid_at = np.concatenate([np.ones(len(retry), dtype=bool), ~pending])
    status_all = np.concatenate([np.full(len(retry), 2), status])
    updated_all = np.concatenate([failed_s, updated_s])
    order = np.lexsort((attempt, order_index))
    order_index, paid_all, has_paid_at = order_index[order], paid_all[order], has_paid_at[order]
    status_all, updated_all = status_all[order], updated_all[order]

    who = orders.customer_index[order_index]
    method_all = cust.method[who]
    take = pa.array(who)
    card = pc.if_else(pa.array(method_all == 0), cust.card.take(take), pa.scalar(None, pa.string()))
    iban = pc.if_else(pa.array(method_all == 1), cust.iban.take(take), pa.scalar(None, pa.string()))
    return pa.table(
        {
            "payment_id": pa.array(np.arange(1, len(order_index) + 1, dtype=np.int64)),
            "order_id": pa.array(order_index + 1),
            "paid_at": _ts_nullable(paid_all, has_paid_at),
            "method": _pick(_PAYMENT_METHODS, method_all),
            "card_number": card,
            "iban": iban,
            "amount": _money(orders.total_cents[order_index]),
            "status": _pick(_PAYMENT_STATUSES, status_all),
            "updated_at": _ts(updated_all),
        }
    )


_PAYMENT_STATUSES = ("succeeded", "pending", "failed", "refunded")
