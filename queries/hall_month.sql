-- grain: one row per hall (大厅) × month (Asia/Shanghai), for every hall with an active unit in the month and every
-- month from the first with data to the newest acceptance: the hall's numerators and denominators (all of its units
-- together, plus queue tickets whose unit is unknown); handling median and P90 at this grain. A hall with nothing in
-- a month still gets its row: counts 0, every denominator 0 ("no data"), no median.
-- @kind     mart
-- @keys     period, hall_code
-- @order    period, hall_code
-- @label.zh 大厅月度汇总
-- @label.en Hall × month
-- @depends  measures, handling_quantiles, units
with

measured as (
    select
        strftime(month, '%Y-%m') as period, hall_code,
        * exclude (grain, date, month, unit_code, window_code, staff_id, hall_code, item_code)
    from measures
    where grain = 'hall_month'
),

months as (
    select strftime(m, '%Y-%m') as period, m::date as first_day, last_day(m) as last_day
    from range(
        (select min(month) from measures),
        (select max(month) from measures) + interval 1 day,
        interval 1 month
    ) as t(m)
),

-- A hall is open in a month when one of its units is active then (as unit_month lists units).
active_halls as (
    select distinct m.period, u.hall_code
    from months as m
    join units as u
        on u.hall_code is not null
        and coalesce(u.active_from, m.first_day) <= m.last_day
        and coalesce(u.active_to, m.last_day) >= m.first_day
),

hall_periods as (
    select period, hall_code from active_halls
    union
    select period, hall_code from measured
),

handling as (
    select strftime(month, '%Y-%m') as period, hall_code, handling_days_median, handling_days_p90
    from handling_quantiles
    where grain = 'hall_month'
),

final as (
    select
        p.period,
        p.hall_code,
        coalesce(columns(m.* exclude (period, hall_code)), 0),
        h.handling_days_median,
        h.handling_days_p90
    from hall_periods as p
    left join measured as m on m.period = p.period and m.hall_code is not distinct from p.hall_code
    left join handling as h on h.period = p.period and h.hall_code is not distinct from p.hall_code
)

select * from final
