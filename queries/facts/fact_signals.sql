-- grain: one row per supervision signal (电子监察), its latest version, attributed to its case's unit, window
-- and staff when the case is known. `counted` marks what indicators count: per case only its strongest
-- signal (红牌 over 黄牌 over 预警; a case with a yellow and a red card counts as red only), and every signal
-- without a case. Rows come in issued month order (the warehouse's partitions).
-- @kind     fact
-- @keys     signal_id
-- @label.zh 电子监察事实表
-- @label.en Supervision signal facts
-- @depends  supervision, fact_cases, units
with

ranked as (
    select
        s.*,
        s.case_id is null
        or row_number() over (
            partition by s.case_id
            order by case s.signal when '红牌' then 3 when '黄牌' then 2 else 1 end desc, s.issued_at, s.signal_id
        ) = 1 as counted
    from supervision as s
),

final as (
    select
        r.signal_id,
        r.case_id,
        date_trunc('month', r.issued_at::date)::date as issued_month,
        case when c.case_id is null then r.unit_code else c.unit_code end as unit_code,
        c.window_code,
        c.staff_id,
        case when c.case_id is null then u.hall_code else c.hall_code end as hall_code,
        c.item_code,
        r.signal,
        r.issued_at,
        r.issued_at::date as issued_date,
        r.counted
    from ranked as r
    left join fact_cases as c on c.case_id = r.case_id
    left join units as u on u.unit_code = r.unit_code
)

select * from final
