-- grain: one row per window × month (Asia/Shanghai) with activity, keyed by the case's unit; cases handled
-- outside any window (online, self-service) form the unit's row with an empty window_code. Every numerator
-- and denominator of unit_month, so windows roll up to their unit exactly; handling median and P90 at this grain.
-- @kind       mart
-- @keys       period, unit_code, window_code
-- @order      period, unit_code, window_code
-- @attributes window_name, window_kind
-- @subject    window
-- @label.zh   窗口月度汇总
-- @label.en   Window × month
-- @depends    measures, handling_quantiles, windows
with

measured as (
    select
        strftime(month, '%Y-%m') as period, unit_code, window_code,
        * exclude (grain, date, month, unit_code, window_code, staff_id, hall_code, item_code)
    from measures
    where grain = 'window_month'
),

handling as (
    select strftime(month, '%Y-%m') as period, unit_code, window_code, handling_days_median, handling_days_p90
    from handling_quantiles
    where grain = 'window_month'
),

final as (
    select
        m.period,
        m.unit_code,
        m.window_code,
        w.name as window_name,
        w.kind as window_kind,
        m.* exclude (period, unit_code, window_code),
        h.handling_days_median,
        h.handling_days_p90
    from measured as m
    left join windows as w on w.window_code = m.window_code
    left join handling as h
        on h.period = m.period
        and h.unit_code = m.unit_code
        and h.window_code is not distinct from m.window_code
)

select * from final
