-- grain: one row per unit × month (Asia/Shanghai), for every unit active in the month and every month from the
-- first with data to the newest acceptance: each indicator's numerator and denominator (a rate is
-- Σnumerator/Σdenominator at any roll-up), plus the month's exact handling-time median and P90.
-- @kind       mart
-- @keys       period, unit_code
-- @order      period, unit_code
-- @attributes unit_name, unit_kind, unit_group
-- @subject    unit
-- @label.zh   单位月度汇总
-- @label.en   Unit × month
-- @depends    measures, handling_quantiles, units
with

measured as (
    select
        strftime(month, '%Y-%m') as period, unit_code,
        * exclude (grain, date, month, unit_code, window_code, staff_id, hall_code, item_code)
    from measures
    where grain = 'unit_month'
),

months as (
    select strftime(m, '%Y-%m') as period, m::date as first_day, last_day(m) as last_day
    from range(
        (select min(month) from measures),
        (select max(month) from measures) + interval 1 day,
        interval 1 month
    ) as t(m)
),

-- A unit with nothing in a month still gets its row: counts 0, rates "no data".
active_units as (
    select m.period, u.unit_code
    from months as m
    join units as u
        on coalesce(u.active_from, m.first_day) <= m.last_day
        and coalesce(u.active_to, m.last_day) >= m.first_day
),

unit_periods as (
    select period, unit_code from active_units
    union
    select period, unit_code from measured
),

handling as (
    select strftime(month, '%Y-%m') as period, unit_code, handling_days_median, handling_days_p90
    from handling_quantiles
    where grain = 'unit_month'
),

final as (
    select
        p.period,
        p.unit_code,
        u.name as unit_name,
        u.kind as unit_kind,
        u."group" as unit_group,
        coalesce(columns(m.* exclude (period, unit_code)), 0),
        h.handling_days_median,
        h.handling_days_p90
    from unit_periods as p
    left join units as u on u.unit_code = p.unit_code
    left join measured as m on m.period = p.period and m.unit_code = p.unit_code
    left join handling as h on h.period = p.period and h.unit_code = p.unit_code
)

select * from final
