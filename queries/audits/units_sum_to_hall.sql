-- grain: one row per month × additive column (rollup sum in the catalog) where the hall rows together differ from
-- the unit rows together plus the work no unit is known for (queue tickets at an unknown window, which hall_month
-- counts and unit_month does not): both marts sum the same measures rows, so they agree exactly. Distinct counts
-- do not add up and are left out.
-- @kind     audit
-- @label.zh 各单位合计等于大厅
-- @label.en Units add up to the hall
-- @depends  unit_month, hall_month, measures, indicator_columns
with

additive as (
    select column_name from indicator_columns where rollup = 'sum'
),

-- Each row's columns as text (the labels too, so one cast fits all), kept where they are additive.
units as (
    select period, column_name, sum(amount::bigint) as total
    from (
        unpivot (select * from unit_month where unit_code is not null)
        on columns(* exclude (period))::varchar
        into name column_name value amount
    )
    semi join additive using (column_name)
    group by all
),

unattributed as (
    select period, column_name, sum(amount::bigint) as total
    from (
        unpivot (
            select strftime(month, '%Y-%m') as period, * exclude (grain, date, month)
            from measures
            where grain = 'unit_month' and unit_code is null
        )
        on columns(* exclude (period))::varchar
        into name column_name value amount
    )
    semi join additive using (column_name)
    group by all
),

halls as (
    select period, column_name, sum(amount::bigint) as total
    from (unpivot hall_month on columns(* exclude (period))::varchar into name column_name value amount)
    semi join additive using (column_name)
    group by all
),

final as (
    select
        coalesce(h.period, u.period, n.period) as period,
        coalesce(h.column_name, u.column_name, n.column_name) as column_name,
        coalesce(u.total, 0) as units_total,
        coalesce(n.total, 0) as unattributed,
        coalesce(h.total, 0) as hall_total
    from halls as h
    full join units as u on u.period = h.period and u.column_name = h.column_name
    full join unattributed as n
        on n.period = coalesce(h.period, u.period) and n.column_name = coalesce(h.column_name, u.column_name)
    where coalesce(u.total, 0) + coalesce(n.total, 0) <> coalesce(h.total, 0)
)

select * from final
