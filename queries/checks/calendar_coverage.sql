-- grain: one row for the whole warehouse: cases whose deadline needs working days the calendar lacks.
-- A deadline beyond the last published year would silently drop a case from on-time; build refuses instead.
with

bounds as (
    select max(date) as last_date, max(workday_seq) as last_seq from calendar
),

needs as (
    select
        c.case_id,
        c.accepted_at::date as accepted_date,
        case
            when c.deadline_at is null and c.promised_days is not null
                then acc.workday_seq + c.promised_days + coalesce(c.suspended_days, 0)
            when c.deadline_at is not null and coalesce(c.suspended_days, 0) > 0
                then dl.workday_seq + c.suspended_days
        end as needed_seq,
        acc.date is null as accepted_outside,
        c.deadline_at is not null and coalesce(c.suspended_days, 0) > 0 and dl.date is null as deadline_outside
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
    where accepted_outside or deadline_outside or needed_seq > bounds.last_seq
)

select * from final
