-- docs/contract.md §5 bi.feature_adoption_daily: one row per (tenant_id, date, feature) used that day.
with

adoption as (
    select * from {{ ref('fct_feature_adoption_daily') }}
),

final as (
    select
        tenant_id,
        usage_date as date,
        feature,
        users,
        new_adopters,
        adopters_30d,
        mau,
        adoption_rate_30d
    from adoption
)

select * from final
