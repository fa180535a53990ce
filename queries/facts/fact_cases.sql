-- grain: one row per case (办件), its latest version, with what the marts need worked out once: the
-- effective deadline from the working-day calendar, due date, elapsed working days and the outcome flags.
-- Written sorted by (accepted_month, unit_code).
-- Times are cut into dates in Asia/Shanghai (the warehouse connection's time zone), whatever the process's.
-- Parameter: $deadline_includes_suspension (BOOLEAN): the export's deadline_at already counts suspended days.
-- @kind     fact
-- @keys     case_id
-- @order    accepted_month, unit_code
-- @label.zh 办件事实表
-- @label.en Case facts
-- @depends  cases, items, units, calendar
-- @params   deadline_includes_suspension
with

workdays as (
    select workday_seq, date from calendar where is_workday
),

base as (
    select
        c.case_id,
        c.unit_code,
        c.window_code,
        c.staff_id,
        coalesce(c.hall_code, u.hall_code) as hall_code,
        c.item_code,
        c.item_kind,
        c.channel,
        c.status,
        c.accepted_at,
        c.accepted_at::date as accepted_date,
        -- Only 办结 ends a case as completed; 不予受理/退件/终止 close it without a result.
        case when c.status = '办结' then c.completed_at end as completed_at,
        case when c.status = '办结' then c.completed_at::date end as completed_date,
        c.legal_days,
        coalesce(c.promised_days, i.promised_days) as promised_days,
        coalesce(c.suspended_days, 0) as suspended_days,
        c.deadline_at::date as given_deadline_date,
        coalesce(c.full_online, false) as full_online,
        coalesce(c.secondary_entry, false) as secondary_entry,
        coalesce(c.archived, false) as archived,
        c.updated_at
    from cases as c
    left join units as u on u.unit_code = c.unit_code
    left join items as i on i.item_code = c.item_code
),

-- Promised deadline: the promised_days-th working day after acceptance (0: the acceptance day itself).
promised as (
    select
        b.*,
        acc.workday_seq as accepted_seq,
        case
            when b.given_deadline_date is not null then b.given_deadline_date
            when b.promised_days = 0 then b.accepted_date
            else p.date
        end as promised_date
    from base as b
    left join calendar as acc on acc.date = b.accepted_date
    left join workdays as p
        on b.given_deadline_date is null
        and b.promised_days > 0
        and p.workday_seq = acc.workday_seq + b.promised_days
),

-- Suspended working days (特别程序/挂起) push the deadline back by as many working days, unless the export's own
-- deadline already includes them (option deadline_includes_suspension): then adding them again would count twice.
extended as (
    select
        *,
        suspended_days > 0 and not (given_deadline_date is not null and $deadline_includes_suspension) as pushed_back
    from promised
),

deadlines as (
    select
        p.* exclude (pushed_back),
        case when p.pushed_back then ext.date else p.promised_date end as deadline_date,
        done.workday_seq as completed_seq
    from extended as p
    left join calendar as pd on p.pushed_back and pd.date = p.promised_date
    left join workdays as ext on p.pushed_back and ext.workday_seq = pd.workday_seq + p.suspended_days
    left join calendar as done on done.date = p.completed_date
),

final as (
    select
        d.case_id,
        date_trunc('month', d.accepted_date)::date as accepted_month,
        d.unit_code,
        d.window_code,
        d.staff_id,
        d.hall_code,
        d.item_code,
        d.item_kind,
        d.channel,
        d.status,
        d.accepted_at,
        d.accepted_date,
        d.completed_at,
        d.completed_date,
        date_trunc('month', d.completed_date)::date as completed_month,
        d.legal_days,
        d.promised_days,
        d.suspended_days,
        d.deadline_date,
        date_trunc('month', d.deadline_date)::date as deadline_month,
        -- Refused, returned and ended cases never fall due; the rest do once their deadline day has passed.
        d.status in ('办结', '在办', '挂起') as can_fall_due,
        d.completed_date is not null as is_completed,
        d.completed_date <= d.deadline_date as on_time,
        d.completed_date < d.deadline_date as early,
        d.completed_date = d.accepted_date as same_day,
        -- Still open when its deadline's month ended (or now, if that month is still running).
        d.completed_date is null or d.completed_date > last_day(d.deadline_date) as open_at_due_month_end,
        -- greatest() skips NULLs, so an open case must be kept NULL explicitly.
        case when d.completed_seq is not null then greatest(d.completed_seq - d.accepted_seq - d.suspended_days, 0)
        end as handling_days,
        d.full_online,
        d.secondary_entry,
        d.archived,
        d.updated_at
    from deadlines as d
)

select * from final
