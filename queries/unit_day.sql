-- grain: one row per unit × day (Asia/Shanghai) with activity, for the running view of the current month
-- (month to date = Σ over its days): same numerators and denominators as unit_month, and that day's
-- handling median and P90.
-- @kind       mart
-- @keys       date, unit_code
-- @order      date, unit_code
-- @attributes period
-- @label.zh   单位每日汇总
-- @label.en   Unit × day
-- @depends    measures, handling_quantiles
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
