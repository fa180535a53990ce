-- grain: one row per evaluation (好差评), its latest version, attributed to its case's unit, window and staff
-- (a walk-in rating, or one whose case is not in the warehouse, keeps its own). `counted` marks the one
-- rating per case that indicators count: the first non-default rating, else the first default one; later
-- ratings (追评) stay here to be shown. Rows come in rated month order (the warehouse's partitions).
-- @kind     fact
-- @keys     eval_id
-- @label.zh 评价事实表
-- @label.en Rating facts
-- @depends  evaluations, fact_cases, units, windows, calendar
with

rated as (
    select
        eval_id, case_id, unit_code, window_code, staff_id, rated_at, rating, is_default, channel, bad_tags, appeal,
        rectified_at
    from evaluations
),

-- Most cases have one rating, which counts; only cases with several need ordering, so only they pay for it.
repeated as (
    select case_id from rated where case_id is not null group by case_id having count(*) > 1
),

ranked as (
    select *, true as counted from rated anti join repeated using (case_id)
    union all
    select
        *,
        row_number() over (partition by case_id order by coalesce(is_default, false), rated_at, eval_id) = 1
            as counted
    from rated semi join repeated using (case_id)
),

final as (
    select
        r.eval_id,
        r.case_id,
        date_trunc('month', r.rated_at::date)::date as rated_month,
        case when c.case_id is null then r.unit_code else c.unit_code end as unit_code,
        case when c.case_id is null then r.window_code else c.window_code end as window_code,
        case when c.case_id is null then r.staff_id else c.staff_id end as staff_id,
        case when c.case_id is null then coalesce(w.hall_code, u.hall_code) else c.hall_code end as hall_code,
        c.item_code,
        c.completed_date as case_completed_date,
        r.rated_at,
        r.rated_at::date as rated_date,
        r.rating,
        coalesce(r.is_default, false) as is_default,
        r.counted,
        r.channel,
        r.bad_tags,
        r.appeal,
        r.rectified_at,
        rated.workday_seq as rated_workday_seq,
        -- Working days from the rating to its rectification (差评整改), for the N-working-day option.
        case when fix.workday_seq is not null then greatest(fix.workday_seq - rated.workday_seq, 0) end
            as rectify_workdays
    from ranked as r
    left join fact_cases as c on c.case_id = r.case_id
    left join windows as w on w.window_code = r.window_code
    left join units as u on u.unit_code = r.unit_code
    left join calendar as rated on rated.date = r.rated_at::date
    left join calendar as fix on fix.date = r.rectified_at::date
)

select * from final
