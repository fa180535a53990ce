-- grain: one row per key of a mart that more than one of its rows carries: a mart holds one row per key, the
-- columns its header declares as @keys, so slices, roll-ups and joins on those keys find exactly one row.
-- @kind     audit
-- @each     mart
-- @label.zh 主键唯一
-- @label.en One row per key
-- @depends  this
with

counted as (
    select @keys, count(*) as copies
    from @this
    group by @keys
),

final as (
    select * from counted where copies > 1
)

select * from final
