"""PII classification at ingestion, by the rules in ``governance/classification.yaml``.

For each column of a landed table, in this order:

1. an override in the source YAML (``classification: {column: class | none}``, per source or
   per resource) decides;
2. otherwise each class whose ``column_patterns`` match the column name is tried in the file's
   order: a class without validators is assigned on the name alone; a class with validators
   is assigned when at least its ``match_threshold`` of the sampled non-null values pass one of
   them (a column with no non-null value yet is assigned on the name: absence of evidence is
   not evidence of safety);
3. otherwise text columns are checked on their values alone against the classes whose
   validators are hard to pass by accident (e-mail, IBAN, Luhn card numbers), so an
   ``contact`` column full of e-mail addresses is still found (method ``values``).

Values are sampled from the raw table (``TABLESAMPLE`` on large tables, up to ``sample_size``
rows); they are checked in memory and never logged or stored. Results go to
``governance.column_classification`` (one row per column, replaced on each run) and feed the
lineage facets and dbt masking.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from scrollintel.checksums import iban_valid, luhn_valid
from scrollintel.config.classification import NOT_PERSONAL
from scrollintel.warehouse import raw_table_name

if TYPE_CHECKING:
    import psycopg

    from scrollintel.config.classification import ClassificationConfig
    from scrollintel.ingest.connectors.base import SourceColumn

log = logging.getLogger(__name__)

TABLE = "governance.column_classification"
#: Validators strong enough to classify a column on its values alone.
VALUE_ONLY_VALIDATORS = frozenset({"email", "iban", "luhn"})
#: Fewest non-null sampled values for a values-only decision.
MIN_VALUES_FOR_VALUE_ONLY = 20
#: Warehouse types whose values are worth sampling (a PostgreSQL source's json and text arrays
#: keep their types in raw).
SAMPLED_TYPES = frozenset({"text", "date", "timestamp", "timestamptz", "jsonb", "json", "text[]"})

# --------------------------------------------------------------------------- validators

_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_PHONE_CHARS = re.compile(r"\+?\(?[0-9][0-9 ().\-/]*(?:\s*(?:x|ext\.?)\s*[0-9]{1,6})?", re.IGNORECASE)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_FORMS = (
    re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[T ][0-9:.+\-Z]*)?"),
    re.compile(r"(?P<d>\d{1,2})[./](?P<m>\d{1,2})[./](?P<y>\d{4})"),
    re.compile(r"(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})"),
)
_STREET_WORDS = re.compile(
    r"\b(street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|way|place|pl|court|ct|square|sq|"
    r"terrace|close|crescent|parade|highway|hwy|row|walk|hill|gardens|"
    r"rue|avenue|boulevard|chemin|allee|impasse|quai|calle|avenida|paseo|plaza|carrer|via|viale|piazza|"
    r"rua|travessa|laan|gracht|plein|kade|ulica|gatan|gade|vej)\b"
    r"|(strasse|straße|str\.|weg|gasse|platz|allee|ring|damm|straat|steeg|dreef|vei|veien)\b",
    re.IGNORECASE,
)
_HOUSE_NUMBER = re.compile(r"(^|\s)\d{1,5}[A-Za-z]?(\s|,|$)")
_NAME_TOKEN = re.compile(r"[A-Z\u00c0-\u00de][A-Za-z\u00c0-\u024f'\u2019\-]*\.?")
_NAME_PARTICLES = frozenset(
    {"de", "van", "der", "den", "la", "le", "da", "di", "von", "du", "del", "dos", "das", "bin", "al", "ter", "ten"}
)


def is_email(value: str) -> bool:
    """An e-mail address (RFC 5322 dot-atom local part, a domain with a TLD)."""
    text = value.strip()
    if len(text) > 254 or "@" not in text:
        return False
    local = text.rsplit("@", 1)[0]
    return len(local) <= 64 and _EMAIL.fullmatch(text) is not None


def is_phone(value: str) -> bool:
    """A telephone number: 7-15 digits with the usual separators, optionally ``+`` country code."""
    text = value.strip()
    if not _PHONE_CHARS.fullmatch(text) or _ISO_DATE.search(text):
        return False
    main = re.split(r"(?i)\s*(?:x|ext\.?)\s*", text)[0]
    digits = re.sub(r"\D", "", main)
    if not 7 <= len(digits) <= 15 or len(set(digits)) == 1:
        return False
    return not (text.startswith("+") and digits[0] == "0")


def is_card_number(value: str) -> bool:
    """A payment card number: 12-19 digits (spaces or dashes allowed) passing the Luhn check."""
    digits = re.sub(r"[ \-]", "", value.strip())
    if not 12 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    return luhn_valid(digits)


def is_date_of_birth(value: str, *, today: date | None = None) -> bool:
    """A real calendar date no later than today and at most 120 years ago."""
    text = value.strip()
    today = today or date.today()
    for form in _DATE_FORMS:
        match = form.fullmatch(text)
        if not match:
            continue
        try:
            found = date(int(match["y"]), int(match["m"]), int(match["d"]))
        except ValueError:
            continue
        return today.year - 120 <= found.year and found <= today
    return False


def is_address(value: str) -> bool:
    """A street address: letters, a house number, and a street word or the number at one end."""
    text = value.strip()
    if not 5 <= len(text) <= 200 or not re.search(r"[A-Za-z]", text):
        return False
    has_number = _HOUSE_NUMBER.search(text) is not None
    if not has_number:
        return False
    if _STREET_WORDS.search(text):
        return True
    return re.fullmatch(r"\d{1,5}[A-Za-z]?\s+\D{3,}|\D{3,}\s+\d{1,5}[A-Za-z]?", text) is not None


def is_person_name(value: str) -> bool:
    """A person's name: 1-5 capitalised words (particles such as 'de', 'van' allowed), no digits."""
    text = value.strip()
    if not 2 <= len(text) <= 80 or any(char.isdigit() for char in text):
        return False
    tokens = text.replace(",", " ").split()
    if not 1 <= len(tokens) <= 5:
        return False
    capitalised = 0
    for token in tokens:
        if token.lower() in _NAME_PARTICLES:
            continue
        if not _NAME_TOKEN.fullmatch(token):
            return False
        capitalised += 1
    return capitalised >= 1


VALIDATORS: dict[str, Callable[[str], bool]] = {
    "email": is_email,
    "phone": is_phone,
    "iban": iban_valid,
    "luhn": is_card_number,
    "date_of_birth": is_date_of_birth,
    "address": is_address,
    "person_name": is_person_name,
}

# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class ColumnClass:
    """The classification of one column."""

    column: str
    class_id: str | None
    """None: no personal or sensitive data found."""
    sensitivity: str | None
    masking: str | None
    method: str
    """``override``, ``name``, ``name+values``, ``values`` or ``none``."""
    match_ratio: float | None = None
    sampled: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def match_ratio(values: Sequence[str], validators: Iterable[str]) -> float:
    """Share of ``values`` passing at least one of ``validators`` (0 for no values)."""
    checks = [VALIDATORS[name] for name in validators]
    if not values:
        return 0.0
    passed = sum(1 for value in values if any(check(value) for check in checks))
    return passed / len(values)


def classify_column(
    column: str,
    values: Sequence[str] | None,
    config: ClassificationConfig,
    overrides: Mapping[str, str],
    *,
    pg_type: str = "text",
) -> ColumnClass:
    """Classify one column from its name and sampled non-null ``values`` (None: not sampled)."""
    sample = list(values or ())
    override = overrides.get(column)
    if override == NOT_PERSONAL:
        return ColumnClass(column, None, None, None, "override", sampled=len(sample))
    if override is not None:
        chosen = config.get(override)
        return ColumnClass(column, chosen.id, chosen.sensitivity, chosen.masking, "override", sampled=len(sample))
    for item in config.classes:
        if not item.matches_column(column):
            continue
        if not item.validators:
            return ColumnClass(column, item.id, item.sensitivity, item.masking, "name", sampled=len(sample))
        if not sample:
            return ColumnClass(column, item.id, item.sensitivity, item.masking, "name", sampled=0)
        ratio = match_ratio(sample, item.validators)
        if ratio >= config.threshold_for(item.id):
            return ColumnClass(
                column, item.id, item.sensitivity, item.masking, "name+values", round(ratio, 4), len(sample)
            )
    if pg_type == "text" and len(sample) >= MIN_VALUES_FOR_VALUE_ONLY:
        for item in config.classes:
            strong = [name for name in item.validators if name in VALUE_ONLY_VALIDATORS]
            if not strong:
                continue
            ratio = match_ratio(sample, strong)
            if ratio >= config.threshold_for(item.id):
                return ColumnClass(
                    column, item.id, item.sensitivity, item.masking, "values", round(ratio, 4), len(sample)
                )
    return ColumnClass(column, None, None, None, "none", sampled=len(sample))


def columns_to_sample(
    columns: Sequence[SourceColumn], config: ClassificationConfig, overrides: Mapping[str, str]
) -> list[str]:
    """Columns whose values can change the decision (no override; a validating class or values-only check)."""
    chosen = []
    for col in columns:
        if col.name in overrides or col.pg_type not in SAMPLED_TYPES:
            continue
        by_name = [item for item in config.classes if item.matches_column(col.name)]
        if any(item.validators for item in by_name) or (not by_name and col.pg_type == "text"):
            chosen.append(col.name)
    return chosen


def classify(
    columns: Sequence[SourceColumn],
    samples: Mapping[str, Sequence[str]],
    config: ClassificationConfig,
    overrides: Mapping[str, str],
) -> list[ColumnClass]:
    """Classify every column (pure: sampling is the caller's)."""
    return [classify_column(col.name, samples.get(col.name), config, overrides, pg_type=col.pg_type) for col in columns]


# --------------------------------------------------------------------------- database


def sample_values(
    conn: psycopg.Connection[Any], schema: str, table: str, columns: Sequence[str], limit: int
) -> dict[str, list[str]]:
    """Up to ``limit`` rows of ``columns`` (as text, non-null values only per column)."""
    from psycopg import sql

    if not columns:
        return {}
    row = conn.execute(
        "SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s",
        (schema, table),
    ).fetchone()
    estimated = float(row[0]) if row and row[0] is not None else -1.0
    sampling: sql.Composable = sql.SQL("")
    if estimated > 20 * limit:
        percent = min(100.0, 100.0 * 5 * limit / estimated)
        sampling = sql.SQL(" TABLESAMPLE SYSTEM ({})").format(sql.Literal(round(percent, 4)))
    statement = sql.SQL("SELECT {} FROM {}{} LIMIT {}").format(
        sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(name)) for name in columns),
        sql.Identifier(schema, table),
        sampling,
        sql.Literal(int(limit)),
    )
    found: dict[str, list[str]] = {name: [] for name in columns}
    for values in conn.execute(statement):
        for name, value in zip(columns, values, strict=True):
            if value is not None:
                found[name].append(value)
    return found


def store(
    conn: psycopg.Connection[Any], source: str, resource: str, classes: Sequence[ColumnClass], *, run_id: str
) -> list[ColumnClass]:
    """Replace the stored classification of ``source.resource``; returns the columns whose class changed.

    A column not classified before counts as "no class" before.
    """
    before = {row["column"]: row["class_id"] for row in stored(conn, source, resource)}
    # a column seen for the first time without a class is not news
    changed = [item for item in classes if before.get(item.column) != item.class_id]
    with conn.cursor() as cur:
        cur.execute(f"DELETE FROM {TABLE} WHERE source = %s AND resource = %s", (source, resource))
        cur.executemany(
            f"INSERT INTO {TABLE} (source, resource, column_name, class_id, sensitivity, masking, method, "
            "match_ratio, sampled, run_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    source,
                    resource,
                    item.column,
                    item.class_id,
                    item.sensitivity,
                    item.masking,
                    item.method,
                    item.match_ratio,
                    item.sampled,
                    run_id,
                )
                for item in classes
            ],
        )
    return changed


def stored(conn: psycopg.Connection[Any], source: str, resource: str) -> list[dict[str, Any]]:
    """The stored classification of ``source.resource`` (column, class_id, sensitivity, masking, method)."""
    cur = conn.execute(
        f"SELECT column_name AS column, class_id, sensitivity, masking, method, match_ratio, sampled "
        f"FROM {TABLE} WHERE source = %s AND resource = %s ORDER BY column_name",
        (source, resource),
    )
    names = [col.name for col in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def classify_table(
    conn: psycopg.Connection[Any],
    *,
    source: str,
    resource: str,
    columns: Sequence[SourceColumn],
    config: ClassificationConfig,
    overrides: Mapping[str, str],
    run_id: str,
    schema: str = "raw",
) -> tuple[list[ColumnClass], list[ColumnClass]]:
    """Sample ``raw.<source>__<resource>``, classify and store; (all columns, columns whose class changed)."""
    to_sample = columns_to_sample(columns, config, overrides)
    samples = sample_values(conn, schema, raw_table_name(source, resource), to_sample, config.sample_size)
    classes = classify(columns, samples, config, overrides)
    changed = store(conn, source, resource, classes, run_id=run_id)
    found = [item for item in classes if item.class_id]
    log.info(
        "classified %s.%s: %d of %d column(s) hold personal or sensitive data (%s)",
        source,
        resource,
        len(found),
        len(classes),
        ", ".join(f"{item.column}={item.class_id}" for item in found) or "none",
    )
    return classes, changed
