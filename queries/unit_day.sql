-- grain: one row per unit × day (Asia/Shanghai) with activity, for the running view of the current month
-- (month to date = Σ over its days): same numerators and denominators as unit_month, and that day's
-- handling median and P90.
with

measured as (
    select
        date, strftime(month, '%Y-%m') as period, unit_code,
        * exclude (grain, date, month, unit_code, window_code, staff_id, hall_code, item_code)
    from measures
    where grain = 'unit_day'
),

handling as (
    select date, unit_code, handling_days_median, handling_days_p90
    from handling_quantiles
    where grain = 'unit_day'
),

final as (
    select
        m.*,
        h.handling_days_median,
        h.handling_days_p90
    from measured as m
    left join handling as h on h.date = m.date and h.unit_code = m.unit_code
)

select * from final
