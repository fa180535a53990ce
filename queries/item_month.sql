-- grain: one row per service item (事项) × unit × month (Asia/Shanghai) with activity; queue tickets without an
-- item and walk-in ratings form the unit's row with an empty item_code. Same numerators and denominators as
-- unit_month; handling median and P90 at this grain.
-- @kind       mart
-- @keys       period, unit_code, item_code
-- @order      period, unit_code, item_code
-- @attributes item_name, item_kind, legal_days, promised_days
-- @label.zh   事项月度汇总
-- @label.en   Service item × unit × month
-- @depends    measures, handling_quantiles, items
with

measured as (
    select
        strftime(month, '%Y-%m') as period, unit_code, item_code,
        * exclude (grain, date, month, unit_code, window_code, staff_id, hall_code, item_code)
    from measures
    where grain = 'item_month'
),

handling as (
    select strftime(month, '%Y-%m') as period, unit_code, item_code, handling_days_median, handling_days_p90
    from handling_quantiles
    where grain = 'item_month'
),

final as (
    select
        m.period,
        m.unit_code,
        m.item_code,
        i.item_name,
        i.kind as item_kind,
        i.legal_days,
        i.promised_days,
        m.* exclude (period, unit_code, item_code),
        h.handling_days_median,
        h.handling_days_p90
    from measured as m
    left join items as i on i.item_code = m.item_code
    left join handling as h
        on h.period = m.period
        and h.unit_code = m.unit_code
        and h.item_code is not distinct from m.item_code
)

select * from final
