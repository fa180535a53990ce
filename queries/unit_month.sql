-- grain: one row per unit × month (Asia/Shanghai), numerators and denominators side by side.
-- Foundation cut: cases accepted/completed, on-time (due in month), same-day, satisfaction (≥ 3).
with

case_rows as (
    select
        c.case_id,
        c.unit_code,
        c.status,
        c.accepted_at,
        c.completed_at,
        coalesce(c.suspended_days, 0) as suspended_days,
        coalesce(c.deadline_at::date, promised.date) as deadline_date
    from cases as c
    left join calendar as acc on acc.date = c.accepted_at::date
    left join calendar as promised
        on c.deadline_at is null
        and promised.is_workday
        and promised.workday_seq = acc.workday_seq + c.promised_days
),

-- Suspended working days (挂起/特别程序) push the deadline back by as many working days.
case_deadlines as (
    select
        r.*,
        case when r.suspended_days = 0 then r.deadline_date else ext.date end as effective_deadline
    from case_rows as r
    left join calendar as d on d.date = r.deadline_date
    left join calendar as ext
        on r.suspended_days > 0
        and ext.is_workday
        and ext.workday_seq = d.workday_seq + r.suspended_days
),

accepted as (
    select unit_code, strftime(accepted_at, '%Y-%m') as period, count(*) as cases_accepted
    from case_deadlines
    group by all
),

completed as (
    select
        unit_code,
        strftime(completed_at, '%Y-%m') as period,
        count(*) as cases_completed,
        count(*) filter (where completed_at::date = accepted_at::date) as same_day_cases
    from case_deadlines
    where status = '办结' and completed_at is not null
    group by all
),

due as (
    select
        unit_code,
        strftime(effective_deadline, '%Y-%m') as period,
        count(*) as due_cases,
        count(*) filter (
            where status = '办结' and completed_at is not null and completed_at::date <= effective_deadline
        ) as on_time_cases
    from case_deadlines
    where effective_deadline is not null and status in ('办结', '在办', '挂起')
    group by all
),

rated as (
    select
        unit_code,
        strftime(rated_at, '%Y-%m') as period,
        count(*) as ratings,
        count(*) filter (where rating >= 3) as satisfied_ratings
    from evaluations
    group by all
),

unit_periods as (
    select unit_code, period from accepted
    union select unit_code, period from completed
    union select unit_code, period from due
    union select unit_code, period from rated
),

final as (
    select
        p.period,
        p.unit_code,
        u.name as unit_name,
        u.kind as unit_kind,
        u."group" as unit_group,
        coalesce(a.cases_accepted, 0)::bigint as cases_accepted,
        coalesce(c.cases_completed, 0)::bigint as cases_completed,
        coalesce(d.due_cases, 0)::bigint as due_cases,
        coalesce(d.on_time_cases, 0)::bigint as on_time_cases,
        coalesce(c.same_day_cases, 0)::bigint as same_day_cases,
        coalesce(r.ratings, 0)::bigint as ratings,
        coalesce(r.satisfied_ratings, 0)::bigint as satisfied_ratings
    from unit_periods as p
    left join units as u using (unit_code)
    left join accepted as a using (unit_code, period)
    left join completed as c using (unit_code, period)
    left join due as d using (unit_code, period)
    left join rated as r using (unit_code, period)
    where p.period <= (select strftime(max(accepted_at), '%Y-%m') from cases)
)

select * from final
