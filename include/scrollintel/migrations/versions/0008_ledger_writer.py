"""Audit ledger: a NOLOGIN owner role and SECURITY DEFINER writer functions (least privilege).

Before: the runtime role could INSERT into every ledger table, so a forged "ok" verification
row, a bogus anchor row or a pre-planted Merkle node was one statement away, and the login role
that owned the tables could ``ALTER TABLE ... DISABLE TRIGGER``.

After:

- the ledger tables and their functions are owned by ``scrollintel_ledger``, a NOLOGIN role that
  migrations ``SET ROLE`` into (the platform's provisioning creates it and lets the migrating role
  switch to it without inheriting its rights). No connection the platform holds is the owner,
  so none can disable the triggers;
- the runtime role keeps SELECT only and writes through three SECURITY DEFINER functions with
  a fixed ``search_path``: ``audit_append`` (checks that every entry extends the chain at the
  next seq and hashes to its ``entry_hash``, computes and stores the new Merkle nodes itself,
  notifies the anchorer), ``audit_add_anchor`` (a tree head document whose root is the ledger's
  root at its size, recomputed by ``audit_root_at``)
  and ``audit_add_verification`` (a result with its signed document). EXECUTE is revoked from
  PUBLIC.

On a server where the migrating role can neither create ``scrollintel_ledger`` nor switch to it
(an external server whose URL role has only CREATEDB), the tables stay with that role and the
functions are still the only write path the platform uses; the migration logs a warning.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)

SCHEMA = "governance"
LEDGER_ROLE = "scrollintel_ledger"
TABLES = ("audit_entry", "audit_tree_node", "audit_anchor", "audit_verification")
#: storage.LOCK_KEY: the same advisory lock as the Python appender.
LOCK_KEY = 0x5C0A0D17_0001
#: storage.NOTIFY_CHANNEL
CHANNEL = "audit_ledger_appended"
#: canonical.ENTRY_TAG as a bytea literal.
ENTRY_TAG_HEX = b"scrollintel.audit.entry.v1\n".hex()

APPEND_ARGS = (
    "p_seq bigint[], p_recorded_at timestamptz[], p_actor text[], p_action text[], p_subject text[], "
    "p_details text[], p_prev_hash bytea[], p_entry_hash bytea[], p_event_key text[]"
)
APPEND_SIGNATURE = "bigint[], timestamptz[], text[], text[], text[], text[], bytea[], bytea[], text[]"
ANCHOR_SIGNATURE = "text, text"
VERIFICATION_ARGS = (
    "p_verified_at timestamptz, p_ok boolean, p_tree_size bigint, p_kind text, p_bad_index bigint, "
    "p_message text, p_anchor_size bigint, p_anchored_at timestamptz, p_duration_ms double precision, "
    "p_key_id text, p_document text, p_signature bytea"
)
VERIFICATION_SIGNATURE = (
    "timestamptz, boolean, bigint, text, bigint, text, bigint, timestamptz, double precision, text, text, bytea"
)

APPEND_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {SCHEMA}.audit_append({APPEND_ARGS}) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    n bigint := coalesce(cardinality(p_seq), 0);
    old_size bigint;
    new_size bigint;
    last_hash bytea;
    bad record;
    low bytea[];
    lvl int;
    expected bigint;
    written bigint;
BEGIN
    IF n = 0 THEN
        RETURN (SELECT coalesce(max(seq) + 1, 0) FROM {SCHEMA}.audit_entry);
    END IF;
    IF coalesce(cardinality(p_recorded_at), 0) <> n OR coalesce(cardinality(p_actor), 0) <> n
       OR coalesce(cardinality(p_action), 0) <> n OR coalesce(cardinality(p_subject), 0) <> n
       OR coalesce(cardinality(p_details), 0) <> n OR coalesce(cardinality(p_prev_hash), 0) <> n
       OR coalesce(cardinality(p_entry_hash), 0) <> n OR coalesce(cardinality(p_event_key), 0) <> n THEN
        RAISE EXCEPTION 'audit_append: the nine arrays must have the same length (% entries)', n;
    END IF;
    PERFORM pg_advisory_xact_lock({LOCK_KEY});
    SELECT e.seq + 1, e.entry_hash INTO old_size, last_hash
      FROM {SCHEMA}.audit_entry e ORDER BY e.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        old_size := 0;
        last_hash := decode(repeat('00', 32), 'hex');
    END IF;
    SELECT b.ord, b.seq,
           b.seq IS DISTINCT FROM old_size + b.ord - 1 AS wrong_seq,
           b.prev_hash IS DISTINCT FROM coalesce(b.prev_in_batch, last_hash) AS wrong_link
      INTO bad
      FROM (
        SELECT u.*, lag(u.entry_hash) OVER (ORDER BY u.ord) AS prev_in_batch
          FROM unnest(p_seq, p_recorded_at, p_actor, p_action, p_subject, p_details, p_prev_hash, p_entry_hash)
               WITH ORDINALITY AS u(seq, recorded_at, actor, action, subject, details, prev_hash, entry_hash, ord)
      ) b
     WHERE b.seq IS DISTINCT FROM old_size + b.ord - 1
        OR b.prev_hash IS DISTINCT FROM coalesce(b.prev_in_batch, last_hash)
        OR b.entry_hash IS DISTINCT FROM sha256(
               '\\x{ENTRY_TAG_HEX}'::bytea
               || int8send(b.seq)
               || int8send((extract(epoch FROM b.recorded_at) * 1000000)::bigint)
               || int4send(octet_length(convert_to(b.actor, 'UTF8'))) || convert_to(b.actor, 'UTF8')
               || int4send(octet_length(convert_to(b.action, 'UTF8'))) || convert_to(b.action, 'UTF8')
               || int4send(octet_length(convert_to(b.subject, 'UTF8'))) || convert_to(b.subject, 'UTF8')
               || int4send(octet_length(convert_to(b.details, 'UTF8'))) || convert_to(b.details, 'UTF8')
               || b.prev_hash)
     ORDER BY b.ord LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'audit_append: entry % of the batch (seq %) does not extend the ledger at size %: %',
            bad.ord, bad.seq, old_size,
            CASE WHEN bad.wrong_seq THEN 'wrong seq' WHEN bad.wrong_link THEN 'prev_hash is not the previous entry_hash'
                 ELSE 'entry_hash is not the hash of its fields' END
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    INSERT INTO {SCHEMA}.audit_entry
        (seq, recorded_at, actor, action, subject, details, prev_hash, entry_hash, event_key)
    SELECT * FROM unnest(p_seq, p_recorded_at, p_actor, p_action, p_subject, p_details, p_prev_hash, p_entry_hash,
                         p_event_key);
    new_size := old_size + n;

    -- Merkle nodes of >= 16 leaves completed by this batch (RFC 9162 hashes), computed here, never taken
    -- from the caller: levels 1-3 in memory from the entries of the first group touched on, then level
    -- by level from the stored nodes.
    IF (new_size >> 4) > (old_size >> 4) THEN
        SELECT array_agg(sha256('\\x00'::bytea || e.entry_hash) ORDER BY e.seq) INTO low
          FROM {SCHEMA}.audit_entry e
         WHERE e.seq >= (old_size >> 4) << 4 AND e.seq < (new_size >> 4) << 4;
        -- Pairs by position (set-based: subscripting a bytea array element by element is quadratic).
        FOR lvl IN 1..4 LOOP
            SELECT array_agg(p.h ORDER BY p.k) INTO low
              FROM (SELECT (t.o - 1) / 2 AS k, sha256('\\x01'::bytea || string_agg(t.x, ''::bytea ORDER BY t.o)) AS h
                      FROM unnest(low) WITH ORDINALITY AS t(x, o)
                     GROUP BY (t.o - 1) / 2) AS p;
        END LOOP;
        INSERT INTO {SCHEMA}.audit_tree_node (level, idx, hash)
        SELECT 4, (old_size >> 4) + k - 1, h FROM unnest(low) WITH ORDINALITY AS t(h, k);
        lvl := 5;
        WHILE (new_size >> lvl) > (old_size >> lvl) LOOP
            expected := (new_size >> lvl) - (old_size >> lvl);
            INSERT INTO {SCHEMA}.audit_tree_node (level, idx, hash)
            SELECT lvl, i, sha256('\\x01'::bytea || l.hash || r.hash)
              FROM generate_series(old_size >> lvl, (new_size >> lvl) - 1) AS i
              JOIN {SCHEMA}.audit_tree_node l ON l.level = lvl - 1 AND l.idx = 2 * i
              JOIN {SCHEMA}.audit_tree_node r ON r.level = lvl - 1 AND r.idx = 2 * i + 1;
            GET DIAGNOSTICS written = ROW_COUNT;
            IF written <> expected THEN
                RAISE EXCEPTION 'audit_append: stored Merkle node(s) below level % are missing; %',
                    lvl, 'run `scrollintel audit verify`' USING ERRCODE = 'data_corrupted';
            END IF;
            lvl := lvl + 1;
        END LOOP;
    END IF;
    PERFORM pg_notify('{CHANNEL}', new_size::text);
    RETURN new_size;
END;
$fn$
"""

ROOT_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {SCHEMA}.audit_root_at(p_size bigint) RETURNS bytea
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    parts bytea[] := '{{}}';
    leaves bytea[];
    part bytea;
    result bytea;
    lvl int;
    k int;
    pos bigint := 0;
BEGIN
    -- RFC 9162 MTH of the first p_size entries: complete subtrees largest first (stored nodes of
    -- 16+ leaves, smaller ones from entry hashes), folded from the right.
    IF p_size = 0 THEN
        RETURN sha256(''::bytea);
    END IF;
    FOR lvl IN REVERSE 62..0 LOOP
        CONTINUE WHEN (p_size >> lvl) & 1 = 0;
        IF lvl >= 4 THEN
            SELECT n.hash INTO part FROM {SCHEMA}.audit_tree_node n WHERE n.level = lvl AND n.idx = pos >> lvl;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'audit_root_at: stored Merkle node (%, %) is missing', lvl, pos >> lvl
                    USING ERRCODE = 'data_corrupted';
            END IF;
        ELSE
            SELECT array_agg(sha256('\\x00'::bytea || e.entry_hash) ORDER BY e.seq) INTO leaves
              FROM {SCHEMA}.audit_entry e WHERE e.seq >= pos AND e.seq < pos + (1::bigint << lvl);
            IF coalesce(cardinality(leaves), 0) <> (1 << lvl) THEN
                RAISE EXCEPTION 'audit_root_at: entries % to % are missing', pos, pos + (1 << lvl) - 1
                    USING ERRCODE = 'data_corrupted';
            END IF;
            FOR k IN 1..lvl LOOP
                SELECT array_agg(sha256('\\x01'::bytea || leaves[2 * j - 1] || leaves[2 * j]) ORDER BY j) INTO leaves
                  FROM generate_series(1, cardinality(leaves) / 2) AS j;
            END LOOP;
            part := leaves[1];
        END IF;
        parts := parts || part;
        pos := pos + (1::bigint << lvl);
    END LOOP;
    result := parts[cardinality(parts)];
    FOR k IN REVERSE cardinality(parts) - 1..1 LOOP
        result := sha256('\\x01'::bytea || parts[k] || result);
    END LOOP;
    RETURN result;
END;
$fn$
"""

ANCHOR_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {SCHEMA}.audit_add_anchor(p_document text, p_location text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    head jsonb;
    size bigint;
    new_id bigint;
BEGIN
    BEGIN
        head := p_document::jsonb;
        size := (head ->> 'tree_size')::bigint;
    EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
        RAISE EXCEPTION 'audit_add_anchor: the document is not a tree head (JSON with an integer tree_size)'
            USING ERRCODE = 'invalid_parameter_value';
    END;
    IF head ->> 'log' IS DISTINCT FROM 'scrollintel-audit' OR size IS NULL OR size < 0
       OR length(head ->> 'root_hash') <> 64 OR head ->> 'signature' IS NULL OR head ->> 'key_id' IS NULL THEN
        RAISE EXCEPTION 'audit_add_anchor: the document is not a scrollintel-audit tree head'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF size > (SELECT coalesce(max(seq) + 1, 0) FROM {SCHEMA}.audit_entry) THEN
        RAISE EXCEPTION 'audit_add_anchor: a tree head of % entries is larger than the ledger', size
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF {SCHEMA}.audit_root_at(size) IS DISTINCT FROM decode(head ->> 'root_hash', 'hex') THEN
        RAISE EXCEPTION 'audit_add_anchor: the root_hash of the tree head of % entries is not the ledger''s root', size
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO {SCHEMA}.audit_anchor (tree_size, root_hash, signed_at, key_id, document, location)
    VALUES (size, decode(head ->> 'root_hash', 'hex'), (head ->> 'timestamp')::timestamptz, head ->> 'key_id',
            p_document, p_location)
    RETURNING id INTO new_id;
    RETURN new_id;
END;
$fn$
"""

VERIFICATION_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {SCHEMA}.audit_add_verification({VERIFICATION_ARGS}) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    INSERT INTO {SCHEMA}.audit_verification
        (verified_at, ok, tree_size, kind, bad_index, message, anchor_size, anchored_at, duration_ms,
         key_id, document, signature)
    VALUES (p_verified_at, p_ok, p_tree_size, p_kind, p_bad_index, p_message, p_anchor_size, p_anchored_at,
            p_duration_ms, p_key_id, p_document, p_signature)
    RETURNING id
$fn$
"""

ROOT = f"{SCHEMA}.audit_root_at"
ROOT_SIGNATURE = "bigint"
FUNCTIONS = (
    f"{SCHEMA}.audit_append({APPEND_SIGNATURE})",
    f"{SCHEMA}.audit_add_anchor({ANCHOR_SIGNATURE})",
    f"{SCHEMA}.audit_add_verification({VERIFICATION_SIGNATURE})",
)


def _ledger_role_usable(bind: sa.Connection) -> bool:
    """True when the ledger role exists (created here when allowed) and the migrating role may SET ROLE to it."""
    me = bind.execute(sa.text("SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user")).one()
    exists = bind.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": LEDGER_ROLE}).first()
    if exists is None:
        if not (me.rolsuper or me.rolcreaterole):
            return False
        op.execute(f"CREATE ROLE {LEDGER_ROLE} NOLOGIN")
    if me.rolsuper:
        return True
    member = bind.execute(sa.text("SELECT pg_has_role(current_user, :r, 'MEMBER')"), {"r": LEDGER_ROLE}).scalar()
    return bool(member)


def upgrade() -> None:
    bind = op.get_bind()
    runtime = op.get_context().config.attributes.get("runtime_role")  # type: ignore[union-attr]
    op.add_column("audit_verification", sa.Column("key_id", sa.Text(), nullable=True), schema=SCHEMA)
    op.add_column("audit_verification", sa.Column("document", sa.Text(), nullable=True), schema=SCHEMA)
    op.add_column("audit_verification", sa.Column("signature", sa.LargeBinary(), nullable=True), schema=SCHEMA)

    owned = _ledger_role_usable(bind)
    if owned:
        op.execute(f"GRANT USAGE, CREATE ON SCHEMA {SCHEMA} TO {LEDGER_ROLE}")
        for table in TABLES:
            op.execute(f"ALTER TABLE {SCHEMA}.{table} OWNER TO {LEDGER_ROLE}")
        op.execute(f"ALTER FUNCTION {SCHEMA}.audit_refuse_change() OWNER TO {LEDGER_ROLE}")
        op.execute(f"SET ROLE {LEDGER_ROLE}")
    else:
        log.warning(
            "role %s does not exist and %s cannot create it: the ledger tables stay owned by the migrating role, "
            "which can disable their triggers; create it (NOLOGIN) and grant it to the migrating role, then re-run",
            LEDGER_ROLE,
            bind.execute(sa.text("SELECT current_user")).scalar(),
        )
    for statement in (APPEND_FUNCTION, ROOT_FUNCTION, ANCHOR_FUNCTION, VERIFICATION_FUNCTION):
        op.execute(statement)
    op.execute(f"REVOKE ALL ON FUNCTION {ROOT}({ROOT_SIGNATURE}) FROM PUBLIC")
    for function in FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        if runtime:
            op.execute(f'GRANT EXECUTE ON FUNCTION {function} TO "{runtime}"')
    if runtime:
        for table in TABLES:
            op.execute(f'REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {SCHEMA}.{table} FROM "{runtime}"')
        for sequence in ("audit_anchor_id_seq", "audit_verification_id_seq"):
            op.execute(f'REVOKE ALL ON SEQUENCE {SCHEMA}.{sequence} FROM "{runtime}"')
    if owned:
        op.execute("RESET ROLE")


def downgrade() -> None:
    """Drop the writer functions and give the runtime role its INSERT rights back (ownership stays)."""
    runtime = op.get_context().config.attributes.get("runtime_role")  # type: ignore[union-attr]
    bind = op.get_bind()
    owner = bind.execute(
        sa.text("SELECT tableowner FROM pg_tables WHERE schemaname = :s AND tablename = 'audit_entry'"), {"s": SCHEMA}
    ).scalar()
    switched = owner == LEDGER_ROLE and owner != bind.execute(sa.text("SELECT current_user")).scalar()
    if switched:
        op.execute(f"SET ROLE {LEDGER_ROLE}")
    for function in (*FUNCTIONS, f"{ROOT}({ROOT_SIGNATURE})"):
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    if runtime:
        for table in TABLES:
            op.execute(f'GRANT SELECT, INSERT ON {SCHEMA}.{table} TO "{runtime}"')
        for sequence in ("audit_anchor_id_seq", "audit_verification_id_seq"):
            op.execute(f'GRANT USAGE ON SEQUENCE {SCHEMA}.{sequence} TO "{runtime}"')
    for column in ("signature", "document", "key_id"):
        op.drop_column("audit_verification", column, schema=SCHEMA)
    if switched:
        op.execute("RESET ROLE")
