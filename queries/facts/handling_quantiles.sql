-- grain: one row per mart grain × key (unit_month, window_month, staff_month, hall_month, item_month, unit_day):
-- the exact median and P90 of handling time in working days (办理时长) of completed 承诺件, computed at that
-- grain from its own histogram (never rolled up from finer grains). Interpolation is linear between the two
-- nearest ranks, as quantile_cont and numpy do: position h = (n − 1)·q.
-- @kind     stage
-- @keys     grain, date, month, unit_code, window_code, staff_id, hall_code, item_code
-- @order    grain, month, date, unit_code
-- @label.zh 各粒度办理时长分位数
-- @label.en Handling-time quantiles at every grain
-- @depends  fact_cases
with

-- Elapsed working days are integers, so a histogram per key gives exact quantiles without sorting cases.
fine as (
    select
        completed_date as date, completed_month as month, unit_code, window_code, staff_id, hall_code, item_code,
        handling_days,
        count(*) as n
    from fact_cases
    where is_completed and item_kind = '承诺件' and handling_days is not null
        and completed_date <= (select last_day(max(accepted_date)) from fact_cases)
    group by grouping sets (
        (month, unit_code, window_code, staff_id, hall_code, item_code, handling_days), (date, unit_code, handling_days)
    )
),

bins as (
    select
        case
            when grouping(window_code) = 0 then 'window_month'
            when grouping(staff_id) = 0 then 'staff_month'
            when grouping(item_code) = 0 then 'item_month'
            when grouping(unit_code) = 1 then 'hall_month'
            else 'unit_month'
        end as grain,
        null::date as date, month, unit_code, window_code, staff_id, hall_code, item_code, handling_days,
        sum(n) as n
    from fine
    where date is null
    group by grouping sets (
        (month, unit_code, handling_days), (month, unit_code, window_code, handling_days),
        (month, unit_code, staff_id, handling_days), (month, unit_code, item_code, handling_days),
        (month, hall_code, handling_days)
    )
    union all by name
    select 'unit_day' as grain, date, date_trunc('month', date)::date as month, unit_code, handling_days, n
    from fine
    where month is null
),

cumulative as (
    select
        *,
        sum(n) over (
            partition by grain, month, date, unit_code, window_code, staff_id, hall_code, item_code
            order by handling_days rows between unbounded preceding and current row
        ) as upto,
        sum(n) over (partition by grain, month, date, unit_code, window_code, staff_id, hall_code, item_code)
            as total
    from bins
),

-- The value at 0-based rank k is the first bin whose running count exceeds k.
ranks as (
    select
        grain, month, date, unit_code, window_code, staff_id, hall_code, item_code,
        any_value(total) as total,
        min(handling_days) filter (where upto > (total - 1) // 2) as median_lo,
        min(handling_days) filter (where upto > (total - 1) // 2 + 1) as median_hi,
        ((total - 1) % 2) as median_half,
        min(handling_days) filter (where upto > (total - 1) * 9 // 10) as p90_lo,
        min(handling_days) filter (where upto > (total - 1) * 9 // 10 + 1) as p90_hi,
        ((total - 1) * 9 % 10) as p90_tenths
    from cumulative
    group by grain, month, date, unit_code, window_code, staff_id, hall_code, item_code, total
),

final as (
    select
        grain, month, date, unit_code, window_code, staff_id, hall_code, item_code,
        (median_lo + (coalesce(median_hi, median_lo) - median_lo) * median_half * 0.5)::decimal(12, 2)
            as handling_days_median,
        (p90_lo + (coalesce(p90_hi, p90_lo) - p90_lo) * p90_tenths * 0.1)::decimal(12, 2) as handling_days_p90
    from ranks
)

select * from final
