-- grain: one row per staff member × month (Asia/Shanghai) with activity, keyed by the case's unit; work with no
-- staff number (e.g. queue tickets) forms the unit's row with an empty staff_id. Same numerators and
-- denominators as unit_month; handling median and P90 at this grain.
-- @kind       mart
-- @keys       period, unit_code, staff_id
-- @order      period, unit_code, staff_id
-- @attributes staff_name, staff_window_code
-- @subject    staff
-- @label.zh   人员月度汇总
-- @label.en   Staff member × month
-- @depends    measures, handling_quantiles, staff
with

measured as (
    select
        strftime(month, '%Y-%m') as period, unit_code, staff_id,
        * exclude (grain, date, month, unit_code, window_code, staff_id, hall_code, item_code)
    from measures
    where grain = 'staff_month'
),

handling as (
    select strftime(month, '%Y-%m') as period, unit_code, staff_id, handling_days_median, handling_days_p90
    from handling_quantiles
    where grain = 'staff_month'
),

final as (
    select
        m.period,
        m.unit_code,
        m.staff_id,
        s.name as staff_name,
        s.window_code as staff_window_code,
        m.* exclude (period, unit_code, staff_id),
        h.handling_days_median,
        h.handling_days_p90
    from measured as m
    left join staff as s on s.staff_id = m.staff_id
    left join handling as h
        on h.period = m.period
        and h.unit_code = m.unit_code
        and h.staff_id is not distinct from m.staff_id
)

select * from final
