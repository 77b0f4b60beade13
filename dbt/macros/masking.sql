{#
    PII masking driven by the classification that ingestion stores per raw column
    (governance.column_classification: source, resource, column_name, class_id, masking).

    A staging model selects
        {{ scrollintel_masked_columns(source('shop', 'customers')) }}
    which expands, when the model runs, to one expression per column of the raw relation as it
    is now: a column ingestion classified is masked by its class's policy
    (governance/classification.yaml, field `masking`), an unclassified one passes through. A
    column added at the source therefore reaches staging masked with no SQL edit, and a raw
    column with no stored classification at all fails the model (fail closed) until ingestion
    has classified it.

    Policies:
      hash     keyed SHA-256 (hex) of the value, salted with the session setting
               scrollintel.masking_salt: deterministic, so still usable as a join key;
      redact   a null of the column's type (the column stays, so downstream shapes are stable);
      partial  keeps a non-identifying part, by class: last 4 characters of phone numbers and
               card numbers, country code + last 4 of an IBAN, the birth year instead of the birth
               date (column renamed *_year), the postcode area (outward code / first 3 characters);
               any other class falls back to redact.

    The salt never appears in SQL text, compiled files or logs: it reaches the dbt session as a
    server setting (PGOPTIONS="-c scrollintel.masking_salt=<salt>", filled from the secret at run
    time); on-run-start refuses to run without it and stores it in masking.salt (readable by the
    transformation role only), which the staging views read with their owner's rights.
#}

{% macro scrollintel_masked_columns(relation, casts={}) -%}
    {%- if not execute -%}
        {{- return('*') -}}
    {%- endif -%}
    {%- set policy = scrollintel_column_policy(relation) -%}
    {%- set metadata = var('scrollintel_metadata_columns', []) -%}
    {%- set expressions = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- set name = column.name -%}
        {%- set quoted = adapter.quote(name) -%}
        {%- if name in policy -%}
            {%- set rule = policy[name] -%}
        {%- elif name in metadata -%}
            {%- set rule = {'class_id': none, 'masking': none} -%}
        {%- else -%}
            {{- exceptions.raise_compiler_error(
                "column " ~ name ~ " of " ~ relation ~ " has no stored PII classification in "
                ~ var('scrollintel_classification_table')
                ~ ": run the ingestion classification for this resource before building staging"
            ) -}}
        {%- endif -%}
        {%- if rule['masking'] is none or rule['class_id'] is none -%}
            {%- if name in casts -%}
                {%- do expressions.append('cast(' ~ quoted ~ ' as ' ~ casts[name] ~ ') as ' ~ quoted) -%}
            {%- else -%}
                {%- do expressions.append(quoted) -%}
            {%- endif -%}
        {%- else -%}
            {%- do expressions.append(scrollintel_mask_column(name, column.data_type, rule['class_id'], rule['masking'])) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(expressions | join(',\n        ')) -}}
{%- endmacro %}


{% macro scrollintel_column_policy(relation) -%}
    {#- {column name: {class_id, masking}} for the raw relation named <source>__<resource>. -#}
    {%- set parts = relation.identifier.split('__', 1) -%}
    {%- if parts | length != 2 -%}
        {{- exceptions.raise_compiler_error(
            "cannot mask " ~ relation ~ ": raw tables are named <source>__<resource>"
        ) -}}
    {%- endif -%}
    {%- set query -%}
        select column_name, class_id, masking
        from {{ var('scrollintel_classification_table') }}
        where source = '{{ parts[0] }}' and resource = '{{ parts[1] }}'
    {%- endset -%}
    {%- set policy = {} -%}
    {%- for row in run_query(query).rows -%}
        {%- do policy.update({row[0]: {'class_id': row[1], 'masking': row[2]}}) -%}
    {%- endfor -%}
    {{- return(policy) -}}
{%- endmacro %}


{% macro scrollintel_mask_column(name, data_type, class_id, masking) -%}
    {#- One SELECT-list entry (expression and alias) for a classified column. -#}
    {%- set quoted = adapter.quote(name) -%}
    {%- if masking == 'hash' -%}
        {{- return(scrollintel_mask_hash(quoted) ~ ' as ' ~ quoted) -}}
    {%- elif masking == 'redact' -%}
        {{- return('cast(null as ' ~ data_type ~ ') as ' ~ quoted) -}}
    {%- elif masking == 'partial' -%}
        {%- if class_id == 'birth_date' -%}
            {%- set alias = name[:-4] ~ 'year' if name.endswith('date') else name ~ '_year' -%}
            {{- return(scrollintel_generalise_to_year(quoted) ~ ' as ' ~ adapter.quote(alias)) -}}
        {%- elif class_id in ('phone', 'payment_card') -%}
            {{- return(scrollintel_mask_keep_last(quoted, 4) ~ ' as ' ~ quoted) -}}
        {%- elif class_id == 'iban' -%}
            {{- return(scrollintel_mask_iban(quoted) ~ ' as ' ~ quoted) -}}
        {%- elif class_id == 'postal_code' -%}
            {{- return(scrollintel_generalise_postal_code(quoted) ~ ' as ' ~ quoted) -}}
        {%- else -%}
            {#- no safe partial form known for this class: keep nothing -#}
            {{- return('cast(null as ' ~ data_type ~ ') as ' ~ quoted) -}}
        {%- endif -%}
    {%- else -%}
        {{- exceptions.raise_compiler_error(
            "unknown masking policy '" ~ masking ~ "' for column " ~ name ~ " (class " ~ class_id
            ~ "): expected hash, redact or partial"
        ) -}}
    {%- endif -%}
{%- endmacro %}


{% macro scrollintel_masking_salt() -%}
    (select masking_salt.value from masking.salt as masking_salt where masking_salt.id = 1)
{%- endmacro %}


{% macro scrollintel_mask_hash(expression) -%}
    encode(sha256(convert_to({{ scrollintel_masking_salt() }} || ':' || cast({{ expression }} as text), 'UTF8')), 'hex')
{%- endmacro %}


{% macro scrollintel_mask_keep_last(expression, keep) -%}
    case
        when {{ expression }} is not null
            then repeat('*', greatest(length(cast({{ expression }} as text)) - {{ keep }}, 0))
            || right(cast({{ expression }} as text), {{ keep }})
    end
{%- endmacro %}


{% macro scrollintel_mask_iban(expression) -%}
    case
        when {{ expression }} is not null
            then left(cast({{ expression }} as text), 2)
            || repeat('*', greatest(length(cast({{ expression }} as text)) - 6, 0))
            || right(cast({{ expression }} as text), 4)
    end
{%- endmacro %}


{% macro scrollintel_generalise_to_year(expression) -%}
    cast(extract(year from cast({{ expression }} as date)) as integer)
{%- endmacro %}


{% macro scrollintel_generalise_postal_code(expression) -%}
    case
        when position(' ' in trim(cast({{ expression }} as text))) > 0
            then split_part(trim(cast({{ expression }} as text)), ' ', 1)
        else left(trim(cast({{ expression }} as text)), 3)
    end
{%- endmacro %}


{% macro scrollintel_assert_masking_salt() -%}
    {#-
        on-run-start: refuse to build anything without a real masking salt in the session, and
        keep it in masking.salt, a table only the transformation role can read. Staging views
        read it from there with their owner's rights, so whoever may SELECT a staging view can
        read masked values without ever holding the salt.
    -#}
    do $$
    declare
        salt text := current_setting('scrollintel.masking_salt', true);
    begin
        if length(coalesce(salt, '')) < 16 then
            raise exception 'scrollintel.masking_salt is not set or shorter than 16 characters: pass the masking salt secret as PGOPTIONS="-c scrollintel.masking_salt=<salt>"';
        end if;
        create schema if not exists masking;
        revoke all on schema masking from public;
        create table if not exists masking.salt (
            id integer primary key check (id = 1),
            value text not null,
            updated_at timestamptz not null default now()
        );
        insert into masking.salt as current_salt (id, value) values (1, salt)
        on conflict (id) do update set value = excluded.value, updated_at = now()
        where current_salt.value is distinct from excluded.value;
    end
    $$
{%- endmacro %}
