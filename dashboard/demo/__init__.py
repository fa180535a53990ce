"""Deterministic synthetic exports (演示数据) of a city hall over 24 months, written as the approval systems would: a
tool that writes what `hall demo` hands the gate, not part of the product's core (`plan`: the hall and the patterns it
must show; `hall`: its units, people and profiles; `month` and `events`: each month's rows; `writer`: the files)."""

from dashboard.demo.plan import (
    BAD_PATCHES,
    CASES_ZH,
    DECLINING_UNIT,
    DECLINING_UNITS,
    DIRTY_COUNTS,
    EVENT_TYPES,
    GAP_MONTHS,
    GAP_UNIT,
    IMPROVING_UNITS,
    LONG_QUEUE_WINDOWS,
    LOW_SATISFACTION_UNITS,
    MONTHS,
    STRONG_UNITS,
    WEAK_UNITS,
)
from dashboard.demo.writer import DemoSummary, default_end_month, generate

__all__ = [
    "BAD_PATCHES", "CASES_ZH", "DECLINING_UNIT", "DECLINING_UNITS", "DIRTY_COUNTS", "EVENT_TYPES", "GAP_MONTHS",
    "GAP_UNIT", "IMPROVING_UNITS", "LONG_QUEUE_WINDOWS", "LOW_SATISFACTION_UNITS", "MONTHS", "STRONG_UNITS",
    "WEAK_UNITS", "DemoSummary", "default_end_month", "generate",
]
