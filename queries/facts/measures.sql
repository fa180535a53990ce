-- grain: one row per mart grain × key — unit_day (date, unit), unit_month, window_month, staff_month and
-- item_month (month, unit[, window | staff | item]), hall_month (month, hall) — holding every indicator's
-- numerator and denominator, each counted in the period its own date falls in (accepted, completed, due, rated,
-- issued), with the build's definition options applied. Every grain is computed from the same fine rows, so
-- the marts agree with each other exactly. One more grain, overdue_item (month, unit, window, staff, hall, item with
-- an overdue case), lets a quarter or year count distinct overdue items again over the whole period.
-- Parameters: $on_time_denominator ('due'|'completed'), $satisfaction_levels (INTEGER[]),
-- $same_day_scope ('all'|'instant'), $active_eval_denominator ('ratings'|'completed'), $rectification_days,
-- $rejected_cases ('count'|'exclude'), $as_of (the as-of instant, ISO 8601, resolved by the build).
-- @kind     stage
-- @keys     grain, date, month, unit_code, window_code, staff_id, hall_code, item_code
-- @order    grain, month, date, unit_code
-- @label.zh 各粒度指标分子分母
-- @label.en Numerators and denominators at every grain
-- @depends  fact_cases, fact_ratings, fact_signals, fact_tickets, calendar
-- @params   on_time_denominator, satisfaction_levels, same_day_scope, active_eval_denominator, rectification_days, rejected_cases, as_of
with

-- "Now" is the as-of instant (the stated export time, else the newest cases.updated_at): a deadline day is past once
-- it is before the as-of date. Months are reported up to the month of the newest acceptance.
as_of as (
    select
        $as_of::timestamptz::date as as_of_date,
        (select last_day(max(accepted_date)) from fact_cases) as last_reported_day,
        -- The last working day known on or before the as-of date (a date past the calendar's end counts no further).
        (select max(workday_seq) from calendar where date <= $as_of::timestamptz::date) as as_of_workday_seq
),

-- 不予受理 are counted as accepted or not by the option; they are always counted on their own too.
accepted as (
    select
        accepted_date as date, accepted_month as month, unit_code, window_code, staff_id, hall_code, item_code,
        count(*) filter (where counted) as cases_accepted,
        count(*) filter (where status = '不予受理') as cases_rejected,
        count(*) filter (where counted and item_kind = '即办件') as instant_share_num,
        count(*) filter (where counted) as instant_share_den,
        count(*) filter (where counted and full_online) as full_online_rate_num,
        count(*) filter (where counted) as full_online_rate_den,
        -- 承诺时限压缩比 = 1 − Σpromised/Σlegal = Σ(legal − promised)/Σlegal, over cases with a legal limit.
        coalesce(sum(legal_days - promised_days)
            filter (where counted and legal_days > 0 and promised_days is not null), 0) as time_compression_num,
        coalesce(sum(legal_days) filter (where counted and legal_days > 0 and promised_days is not null), 0)
            as time_compression_den,
        count(*) filter (where counted and secondary_entry) as secondary_entry_cases
    from (select *, $rejected_cases = 'count' or status <> '不予受理' as counted from fact_cases)
    group by grouping sets ((month, unit_code, window_code, staff_id, hall_code, item_code), (date, unit_code))
),

completed as (
    select
        completed_date as date, completed_month as month, unit_code, window_code, staff_id, hall_code, item_code,
        count(*) as cases_completed,
        count(*) filter (where $on_time_denominator = 'completed' and on_time) as on_time_rate_num,
        count(*) filter (where $on_time_denominator = 'completed') as on_time_rate_den,
        count(*) filter (where same_day and ($same_day_scope = 'all' or item_kind = '即办件')) as same_day_rate_num,
        count(*) filter (where $same_day_scope = 'all' or item_kind = '即办件') as same_day_rate_den,
        -- 现场办结: finished in the hall, not sent out; 上报件 are decided by a higher level.
        count(*) filter (where item_kind is distinct from '上报件') as on_site_rate_num,
        count(*) as on_site_rate_den,
        count(*) filter (where item_kind = '承诺件' and early) as early_rate_num,
        count(*) filter (where item_kind = '承诺件') as early_rate_den,
        coalesce(sum(handling_days) filter (where item_kind = '承诺件'), 0) as handling_days_num,
        count(handling_days) filter (where item_kind = '承诺件') as handling_days_den,
        count(*) filter (where archived) as archive_rate_num,
        count(*) as archive_rate_den,
        count(*) as eval_coverage_rate_den,
        count(*) filter (where $active_eval_denominator = 'completed') as active_eval_rate_den
    from fact_cases
    where is_completed
    group by grouping sets ((month, unit_code, window_code, staff_id, hall_code, item_code), (date, unit_code))
),

-- Due once the deadline day has passed by the as-of instant, in the month of the deadline, completed or not.
due as (
    select
        deadline_date as date, deadline_month as month, unit_code, window_code, staff_id, hall_code, item_code,
        count(*) as due_cases,
        count(*) filter (where $on_time_denominator = 'due' and on_time) as on_time_rate_num,
        count(*) filter (where $on_time_denominator = 'due') as on_time_rate_den,
        -- Late or never finished: overdue once, in the month its deadline fell.
        count(*) filter (where not coalesce(on_time, false)) as overdue_cases,
        count(*) filter (where not coalesce(on_time, false) and open_at_due_month_end) as overdue_open_cases,
        -- Distinct items with an overdue case: exact for the day rows; the monthly grains count it again below.
        count(distinct item_code) filter (where not coalesce(on_time, false)) as overdue_items
    from fact_cases
    where can_fall_due and deadline_date < (select as_of_date from as_of)
    group by grouping sets ((month, unit_code, window_code, staff_id, hall_code, item_code), (date, unit_code))
),

rated as (
    select
        rated_date as date, rated_month as month, unit_code, window_code, staff_id, hall_code, item_code,
        count(*) filter (where list_contains($satisfaction_levels, rating)) as satisfaction_rate_num,
        count(*) as satisfaction_rate_den,
        count(*) filter (where rating = 5) as very_satisfied_rate_num,
        count(*) as very_satisfied_rate_den,
        count(*) filter (where rating <= 2) as bad_rate_num,
        count(*) as bad_rate_den,
        count(*) filter (where $active_eval_denominator = 'ratings' and not is_default) as active_eval_rate_num,
        count(*) filter (where $active_eval_denominator = 'ratings') as active_eval_rate_den,
        -- A 差评 found 误评 or 恶意 on appeal is not a valid bad rating. One still inside its rectification window
        -- and not yet put right is pending: it counts once rectified in time or once the window has closed.
        count(*) filter (
            where rating <= 2 and coalesce(appeal, '有效') = '有效' and rectify_workdays <= $rectification_days
        ) as rectification_rate_num,
        count(*) filter (
            where rating <= 2 and coalesce(appeal, '有效') = '有效'
                and (rectify_workdays <= $rectification_days
                     or (select as_of_workday_seq from as_of) - rated_workday_seq > $rectification_days)
        ) as rectification_rate_den
    from fact_ratings
    where counted
    group by grouping sets ((month, unit_code, window_code, staff_id, hall_code, item_code), (date, unit_code))
),

-- 评价覆盖率 (and 主动评价率 over completed cases): a completed case with a counted rating, in the period the
-- case was completed.
covered as (
    select
        case_completed_date as date, date_trunc('month', case_completed_date)::date as month,
        unit_code, window_code, staff_id, hall_code, item_code,
        count(*) as eval_coverage_rate_num,
        count(*) filter (where $active_eval_denominator = 'completed' and not is_default) as active_eval_rate_num
    from fact_ratings
    where counted and case_completed_date is not null
    group by grouping sets ((month, unit_code, window_code, staff_id, hall_code, item_code), (date, unit_code))
),

signals as (
    select
        issued_date as date, issued_month as month, unit_code, window_code, staff_id, hall_code, item_code,
        count(*) filter (where signal = '预警') as warning_signals,
        count(*) filter (where signal = '黄牌') as yellow_cards,
        count(*) filter (where signal = '红牌') as red_cards
    from fact_signals
    where counted
    group by grouping sets ((month, unit_code, window_code, staff_id, hall_code, item_code), (date, unit_code))
),

queue as (
    select
        issued_date as date, issued_month as month, unit_code, window_code, null::varchar as staff_id, hall_code,
        item_code,
        count(*) as tickets_issued,
        coalesce(sum(wait_seconds), 0) as wait_time_num,
        count(wait_seconds) as wait_time_den,
        coalesce(sum(service_seconds), 0) as service_time_num,
        count(service_seconds) as service_time_den,
        count(*) filter (where status = 'no_show') as no_show_rate_num,
        count(*) as no_show_rate_den
    from fact_tickets
    group by grouping sets ((month, unit_code, window_code, staff_id, hall_code, item_code), (date, unit_code))
),

stacked as (
    select * from accepted
    union all by name select * from completed
    union all by name select * from due
    union all by name select * from rated
    union all by name select * from covered
    union all by name select * from signals
    union all by name select * from queue
),

-- Roles merged: fine monthly rows (date empty) and daily unit rows (month empty), up to the last reported day.
fine as (
    select
        date, month, unit_code, window_code, staff_id, hall_code, item_code,
        coalesce(sum(columns(* exclude (date, month, unit_code, window_code, staff_id, hall_code, item_code))), 0)
            ::bigint
    from stacked
    where coalesce(date, month) <= (select last_reported_day from as_of)
    group by date, month, unit_code, window_code, staff_id, hall_code, item_code
),

-- Sums, except distinct overdue items, which are counted again at each grain.
monthly as (
    select
        case
            when grouping(window_code) = 0 then 'window_month'
            when grouping(staff_id) = 0 then 'staff_month'
            when grouping(item_code) = 0 then 'item_month'
            when grouping(unit_code) = 1 then 'hall_month'
            else 'unit_month'
        end as grain,
        null::date as date, month, unit_code, window_code, staff_id, hall_code, item_code,
        sum(columns(* exclude (date, month, unit_code, window_code, staff_id, hall_code, item_code, overdue_items)))
            ::bigint,
        count(distinct item_code) filter (where overdue_items > 0) as overdue_items
    from fine
    where date is null
    group by grouping sets (
        (month, unit_code), (month, unit_code, window_code), (month, unit_code, staff_id),
        (month, unit_code, item_code), (month, hall_code)
    )
),

final as (
    select * from monthly
    union all by name
    select 'unit_day' as grain, * exclude (month), date_trunc('month', date)::date as month
    from fine
    where month is null
    union all by name
    select
        'overdue_item' as grain, month, unit_code, window_code, staff_id, hall_code, item_code,
        overdue_items::bigint as overdue_items
    from fine
    where date is null and overdue_items > 0
)

select * from final
