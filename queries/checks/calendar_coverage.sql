-- grain: one row for the whole warehouse: cases whose reported months need working days the calendar lacks.
-- Marts report months up to the last month with accepted cases. A deadline past the calendar's end is past
-- every reported month only if the calendar reaches the end of that month; otherwise a case could silently
-- drop out of on-time, so build refuses.
-- Parameter: $deadline_includes_suspension (BOOLEAN), as in fact_cases.
-- @kind     check
-- @label.zh 工作日历覆盖检查
-- @label.en Working-day calendar coverage
-- @depends  cases, calendar
-- @params   deadline_includes_suspension
with

bounds as (
    select
        (select max(date) from calendar) as last_date,
        (select max(workday_seq) from calendar) as last_seq,
        (select last_day(max(accepted_at)::date) from cases) as last_reported_day
),

needs as (
    select
        c.case_id,
        c.accepted_at::date as accepted_date,
        case
            when c.deadline_at is null and c.promised_days is not null
                then acc.workday_seq + c.promised_days + coalesce(c.suspended_days, 0)
            when c.deadline_at is not null and coalesce(c.suspended_days, 0) > 0 and not $deadline_includes_suspension
                then dl.workday_seq + c.suspended_days
        end as needed_seq,
        acc.date is null as accepted_outside,
        c.deadline_at is not null and coalesce(c.suspended_days, 0) > 0 and not $deadline_includes_suspension
            and dl.date is null as deadline_outside
    from cases as c
    left join calendar as acc on acc.date = c.accepted_at::date
    left join calendar as dl on dl.date = c.deadline_at::date
),

final as (
    select
        count(*) as cases,
        min(accepted_date) as first_accepted,
        max(accepted_date) as last_accepted,
        arg_min(case_id, accepted_date) as example_case
    from needs, bounds
    where
        accepted_outside
        or ((deadline_outside or needed_seq > bounds.last_seq) and bounds.last_date < bounds.last_reported_day)
)

select * from final
