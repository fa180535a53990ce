-- grain: one row per hall (大厅) × month (Asia/Shanghai) with activity: the hall's numerators and denominators
-- (all of its units together, plus queue tickets whose unit is unknown); handling median and P90 at this grain.
with

measured as (
    select
        strftime(month, '%Y-%m') as period, hall_code,
        * exclude (grain, date, month, unit_code, window_code, staff_id, hall_code, item_code)
    from measures
    where grain = 'hall_month'
),

handling as (
    select strftime(month, '%Y-%m') as period, hall_code, handling_days_median, handling_days_p90
    from handling_quantiles
    where grain = 'hall_month'
),

final as (
    select
        m.*,
        h.handling_days_median,
        h.handling_days_p90
    from measured as m
    left join handling as h on h.period = m.period and h.hall_code is not distinct from m.hall_code
)

select * from final
