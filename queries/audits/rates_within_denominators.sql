-- grain: one row per key of a mart × rate (an indicator of kind rate in the catalog) whose numerator exceeds its
-- denominator: a rate's numerator counts some of the cases its denominator counts, so it can never pass 100%.
-- @kind     audit
-- @each     mart
-- @label.zh 比率分子不大于分母
-- @label.en Rate numerators within their denominators
-- @depends  this, indicator_columns
with

-- Indicator columns are named <indicator>_num and <indicator>_den (metrics.Metric.columns); the catalog says which
-- indicators are rates.
cells as (
    unpivot @this
    on columns('_(num|den)$')
    into name column_name value amount
),

pairs as (
    select
        @keys,
        i.indicator,
        max(c.amount) filter (where i.role = 'numerator') as numerator,
        max(c.amount) filter (where i.role = 'denominator') as denominator
    from cells as c
    join indicator_columns as i on i.column_name = c.column_name and i.kind = 'rate'
    group by all
),

final as (
    select * from pairs where numerator > denominator
)

select * from final
