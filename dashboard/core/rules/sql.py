"""The SQL pieces every rule kind and the compiler build with: exact decimal literals, quoted names, rates as
integer fractions N/D, exact comparisons and sort keys (no float, no DECIMAL division anywhere)."""

from __future__ import annotations

from decimal import Decimal

from dashboard.core.metrics import metrics

AMOUNT = "DECIMAL(18, 4)"
# Rates are ordered by ⌊num·10¹⁸/den⌋: two different fractions with denominators below 10⁹ never share it.
ORDER_SCALE = 10**18
ZERO = f"CAST('0' AS {AMOUNT})"


def literal(d: Decimal) -> str:
    """A decimal literal DuckDB keeps exact (never a float)."""
    return f"CAST('{d}' AS {AMOUNT})"


def string(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def scale_of(*values: Decimal) -> int:
    """10^k, k the most decimal places among the values: multiplying by it makes them all whole."""
    places = max((-_exponent(v) for v in values), default=0)
    return 10 ** max(places, 0)


def _exponent(v: Decimal) -> int:
    exponent = v.normalize().as_tuple().exponent
    if not isinstance(exponent, int):  # 'n', 'N' or 'F': NaN and infinity have no decimal places
        raise ValueError(f"{v} is not a finite amount")
    return exponent


def fraction(metric: str, alias: str = "s") -> tuple[str, str]:
    """A metric's value as an exact fraction N/D in HUGEINT: a count over 1, a mean over den × its display scale."""
    spec = metrics()[metric]
    if spec.kind == "count":
        return f"coalesce({alias}.{ident(metric)}, 0)::HUGEINT", "1::HUGEINT"
    num = f"coalesce({alias}.{ident(metric + '_num')}, 0)::HUGEINT"
    den = f"coalesce({alias}.{ident(metric + '_den')}, 0)::HUGEINT"
    return num, den if spec.scale == 1 else f"({den} * {spec.scale})"


def compare(metric: str, op: str, value: Decimal, alias: str = "s") -> str:
    """`value(metric) op value` exactly, as N·q op p·D (p/q the value); false when there is no data."""
    n, d = fraction(metric, alias)
    q = scale_of(value)
    p = int(value * q)
    sql_op = "=" if op == "==" else op
    return f"({d} > 0 AND {n} * {q} {sql_op} {p} * {d})"


def bounded(raw: str, bound: Decimal | None) -> str:
    """An amount kept within ±bound (a line cap or an item's max points); no bound leaves it as it is."""
    if bound is None:
        return raw
    cap = literal(bound)
    return f"least(greatest({raw}, -{cap}), {cap})"


def order_key(metric: str) -> str:
    """An exact sort key for a metric's value: the count itself, or ⌊N·10¹⁸/D⌋ for a fraction."""
    n, d = fraction(metric)
    if metrics()[metric].kind == "count":
        return n
    return f"CASE WHEN {d} > 0 THEN ({n} * {ORDER_SCALE}) // {d} END"


def partition(within: str, extra: str = "") -> str:
    cols = ["s.period"] + (["s.grp"] if within == "group" else []) + ([extra] if extra else [])
    return f"PARTITION BY {', '.join(cols)}"
