-- grain: one row per queue ticket (排队叫号), its latest version, with its unit (from the window when the
-- ticket has none) and its wait (called − issued) and service (finished − called) in seconds.
-- Rows come in issued month order (the warehouse's partitions).
-- @kind     fact
-- @keys     ticket_id
-- @label.zh 排队叫号事实表
-- @label.en Queue ticket facts
-- @depends  tickets, windows
with

final as (
    select
        t.ticket_id,
        date_trunc('month', t.issued_at::date)::date as issued_month,
        coalesce(t.unit_code, w.unit_code) as unit_code,
        t.window_code,
        coalesce(t.hall_code, w.hall_code) as hall_code,
        t.item_code,
        t.status,
        t.issued_at,
        t.issued_at::date as issued_date,
        case when t.called_at is not null then date_diff('second', t.issued_at, t.called_at) end as wait_seconds,
        case
            when t.status = 'served' and t.called_at is not null and t.finished_at is not null
                then date_diff('second', t.called_at, t.finished_at)
        end as service_seconds
    from tickets as t
    left join windows as w on w.window_code = t.window_code
)

select * from final
