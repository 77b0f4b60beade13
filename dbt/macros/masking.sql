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

    Policies (one per class; a column gets its class's policy, stored with the classification):
      hash       keyed SHA-256 (hex) of the value, salted with the session setting
                 scrollintel.masking_salt: deterministic, so still usable as a join key;
      partial    keeps a non-identifying part of the value, by class: the last 4 characters of
                 phone and card numbers, country code + last 4 of an IBAN, the postcode area
                 (outward code / first 3 characters), the birth year of a birth date (as generalise);
      generalise replaces the value by a coarser one, by class: birth date -> birth year (column
                 renamed *_year), address -> its city/region part (the components after the street
                 line, without house numbers or postcodes; null when the value is a street line
                 only), postal code -> its area;
      redact     a null of the column's type (the column stays, so downstream shapes are stable);
      drop       the column is left out of staging altogether (a model that selects it then fails,
                 PostgreSQL naming the missing column).
    A class with no partial or generalised form for the policy it is given keeps nothing (null).

    The salt never appears in SQL text, compiled files or logs: it reaches the dbt session as a
    server setting (PGOPTIONS="-c scrollintel.masking_salt=<salt>", filled from the secret at run
    time); on-run-start refuses to run without it and stores it in masking.salt (created by the
    governance migration 0006, readable by the transformation role only), which the staging views
    read with their owner's rights.
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
        {%- if rule['masking'] == 'drop' and rule['class_id'] is not none -%}
            {#- the policy says staging does not expose this column at all -#}
        {%- elif rule['masking'] is none or rule['class_id'] is none -%}
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
    {#- One SELECT-list entry (expression and alias) for a classified column (not for 'drop'). -#}
    {%- set quoted = adapter.quote(name) -%}
    {%- set keep_nothing = 'cast(null as ' ~ data_type ~ ') as ' ~ quoted -%}
    {%- if masking == 'hash' -%}
        {{- return(scrollintel_mask_hash(quoted) ~ ' as ' ~ quoted) -}}
    {%- elif masking == 'redact' -%}
        {{- return(keep_nothing) -}}
    {%- elif masking in ('partial', 'generalise') and class_id == 'birth_date' -%}
        {%- set alias = name[:-4] ~ 'year' if name.endswith('date') else name ~ '_year' -%}
        {{- return(scrollintel_generalise_to_year(quoted) ~ ' as ' ~ adapter.quote(alias)) -}}
    {%- elif masking in ('partial', 'generalise') and class_id == 'postal_code' -%}
        {{- return(scrollintel_generalise_postal_code(quoted) ~ ' as ' ~ quoted) -}}
    {%- elif masking == 'partial' -%}
        {%- if class_id in ('phone', 'payment_card') -%}
            {{- return(scrollintel_mask_keep_last(quoted, 4) ~ ' as ' ~ quoted) -}}
        {%- elif class_id == 'iban' -%}
            {{- return(scrollintel_mask_iban(quoted) ~ ' as ' ~ quoted) -}}
        {%- endif -%}
        {#- no safe partial form known for this class: keep nothing -#}
        {{- return(keep_nothing) -}}
    {%- elif masking == 'generalise' -%}
        {%- if class_id == 'address' -%}
            {{- return(scrollintel_generalise_address(quoted) ~ ' as ' ~ quoted) -}}
        {%- endif -%}
        {#- no generalisation known for this class: keep nothing -#}
        {{- return(keep_nothing) -}}
    {%- else -%}
        {{- exceptions.raise_compiler_error(
            "unknown masking policy '" ~ masking ~ "' for column " ~ name ~ " (class " ~ class_id
            ~ "): expected hash, partial, generalise, redact or drop"
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


{% macro scrollintel_generalise_address(expression) -%}
    {#-
        The city/region part of an address: every comma-separated component after the first
        (the street line), with tokens holding a digit (house numbers, postcodes) removed;
        null when nothing is left (a street line alone names no city).
    -#}
    nullif(array_to_string(array(
        select nullif(btrim(regexp_replace(regexp_replace(address_part, '\S*[0-9]\S*', '', 'g'), '\s+', ' ', 'g')), '')
        from unnest((string_to_array(cast({{ expression }} as text), ','))[2:])
            with ordinality as address_parts (address_part, part_number)
        order by part_number
    ), ', '), '')
{%- endmacro %}


{% macro scrollintel_assert_masking_salt() -%}
    {#-
        on-run-start: refuse to build anything without a real masking salt in the session, and
        keep it in masking.salt, a table only the transformation role can read (created with its
        grants by the governance migration 0006, so dbt needs no right to create schemas). Staging
        views read it from there with their owner's rights, so whoever may SELECT a staging view
        can read masked values without ever holding the salt.
    -#}
    do $$
    declare
        salt text := current_setting('scrollintel.masking_salt', true);
    begin
        if length(coalesce(salt, '')) < 16 then
            raise exception 'scrollintel.masking_salt is not set or shorter than 16 characters: pass the masking salt secret as PGOPTIONS="-c scrollintel.masking_salt=<salt>"';
        end if;
        if to_regclass('masking.salt') is null then
            raise exception 'table masking.salt does not exist or is not readable by role %: migrate the warehouse (scrollintel db upgrade) to revision 0006 or later', current_user;
        end if;
        insert into masking.salt as current_salt (id, value) values (1, salt)
        on conflict (id) do update set value = excluded.value, updated_at = now()
        where current_salt.value is distinct from excluded.value;
    end
    $$
{%- endmacro %}
