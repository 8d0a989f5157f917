{#-
    Whose rows a `bi` view holds (docs/contract.md §6). Every model in the `bi` database declares
    it, in models/bi/_bi__models.yml:
        config: {meta: {tenant_scope: tenant_id}}   the column that holds the tenant id
        config: {meta: {tenant_scope: shared}}      no tenant's rows (benchmarks_daily)
    `require_tenant_scopes` (on-run-start) stops the build, before anything runs, naming every
    `bi` model without a usable declaration; `persist_tenant_scope` (post-hook of the bi
    folder) writes the declaration as the view's comment, `tenant_scope: <column>`, which is
    what the access model reads (serving/access/model.py: a server has no manifest).
    A `bi` relation whose comment declares nothing usable is readable by no tenant.
    model.py spells the two words too (SCOPE_KEY, SHARED_SCOPE); tests/test_tenant_scope.py
    keeps them equal.
-#}

{% macro tenant_scope_key() %}{{ return('tenant_scope') }}{% endmacro %}

{% macro tenant_scope_shared() %}{{ return('shared') }}{% endmacro %}

{#- Why a model node has no usable declaration, or '' when it has one. -#}
{% macro tenant_scope_problem(node) %}
  {%- set key = tenant_scope_key() -%}
  {%- set scope = node.config.meta.get(key) -%}
  {%- if scope is none -%}
    {{ return("declares no " ~ key ~ ": add `config: {meta: {" ~ key ~ ": <the column that "
              ~ "holds the tenant id>}}`, or `" ~ key ~ ": " ~ tenant_scope_shared()
              ~ "` if it holds no tenant's rows") }}
  {%- elif scope is not string or not modules.re.fullmatch('[A-Za-z_][A-Za-z0-9_]*', scope) -%}
    {{ return(key ~ " " ~ scope ~ " is not a column name") }}
  {%- elif scope != tenant_scope_shared() and scope not in node.columns -%}
    {{ return(key ~ " " ~ scope ~ " is not one of its documented columns") }}
  {%- endif -%}
  {{ return('') }}
{% endmacro %}

{% macro require_tenant_scopes() %}
  {%- if execute -%}
    {%- set problems = [] -%}
    {%- for node in graph.nodes.values()
          if node.resource_type == 'model' and node.schema == 'bi' -%}
      {%- set problem = tenant_scope_problem(node) -%}
      {%- if problem -%}
        {%- do problems.append("bi." ~ node.name ~ " (" ~ node.original_file_path ~ ") "
                               ~ problem) -%}
      {%- endif -%}
    {%- endfor -%}
    {%- if problems -%}
      {{ exceptions.raise_compiler_error("every bi model declares whose rows it holds:\n"
                                         ~ problems | sort | join("\n")) }}
    {%- endif -%}
  {%- endif -%}
{% endmacro %}

{% macro persist_tenant_scope() %}
  {%- if execute -%}
    {%- set problem = tenant_scope_problem(model) -%}
    {%- if problem -%}
      {{ exceptions.raise_compiler_error(this ~ " " ~ problem) }}
    {%- endif -%}
    alter table {{ this }} {{ on_cluster_clause(this) }}
      modify comment '{{ tenant_scope_key() }}: {{ model.config.meta[tenant_scope_key()] }}'
  {%- endif -%}
{% endmacro %}
