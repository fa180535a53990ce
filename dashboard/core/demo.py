"""Deterministic synthetic exports (演示数据) of a city hall over 24 months, written as the approval systems would."""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xlsxwriter

from dashboard.core.calendar import CalendarError, WorkCalendar
from dashboard.core.contract import (
    APPEALS,
    CASE_STATUSES,
    CHANNELS,
    EVENT_LEVELS,
    ITEM_KINDS,
    SIGNALS,
    TABLES,
    TICKET_STATUSES,
    TIMESTAMP,
    UNIT_KINDS,
    event_types,
)

MONTHS = 24
ROW_GROUP = 262_144
XLSX_ROWS = 1_000_000
DAY = 86_400
HOUR = 3_600
MINUTE = 60
UTC_OFFSET = 8 * HOUR  # Asia/Shanghai has had no daylight saving since 1991
# A month's file is exported on the 15th of the next month (报送上月数据), so cases finished by then arrive
# finished; the rest arrive open and come again, finished, in a later month's file.
EXPORT_LAG = 14 * DAY + 3 * HOUR

# ---------------------------------------------------------------------------------------------------------
# Patterns leadership must be able to see (unit and window codes are fixed; names below).
LOW_SATISFACTION_UNITS = ("U005", "U027", "U031")  # 车管所, 供电公司, 城关镇: ~94–95% satisfied, every month
DECLINING_UNIT = "U010"  # 卫生健康委员会: on time ~98% → ~77%, satisfied ~99% → ~90% over the 24 months
# Every unit has a profile that persists: a level on a 0 (best) … 1 (worst) scale at mid-span and a drift over the 24
# months, for on-time, satisfaction, same-day and conduct alike (each with its own small offset and month-to-month
# wobble); the units not named here are middling, with a seeded level and a small drift.
STRONG_UNITS = ("U002", "U025", "U026", "U034", "U039")  # 人社, 税务, 公积金, 南湖街道, 龙泉镇: ~99.5% on time
WEAK_UNITS = (*LOW_SATISFACTION_UNITS, "U018", "U028")  # + 城管, 供水: late more, rated worse, many deductions
IMPROVING_UNITS = ("U006", "U033", "U021")  # 医保, 西城街道, 应急: weak at the start, good at the end
DECLINING_UNITS = (DECLINING_UNIT, "U014", "U036")  # + 文旅, 青石镇: good at the start, weak at the end
# 不动产 (a new system) and 燃气: a bad spell (on time ~91%, satisfied ~92%), then recovery; 0-based month indexes
BAD_PATCHES = {"U003": (12, 13, 14, 15), "U029": (4, 5, 6)}
GAP_UNIT = "U037"  # 柳河镇: no rows in any table in months 10–12 of the 24 (system migration)
GAP_MONTHS = (9, 10, 11)  # 0-based month indexes
LONG_QUEUE_WINDOWS = ("W027", "W037")  # 不动产 and 出入境 专窗: 40–90 minute waits
#
# Dirty rows the ingest gate must quarantine. Counts are exact whatever the seed for any `cases` ≥ 10 000 (a
# tiny demo may lack rows to spoil), over the 24 months (month 1 is the XLSX file):
#   cases       completed_at before accepted_at (completed_before_accepted)   2 in months 1,4,7,…; 1 else → 32
#   cases       unit_code "U999" (unknown_unit)                                1 except months 4,8,…,24   → 18
#   evaluations rating 0 (even months) or 6 (odd months) (rating_out_of_range) 1 a month                  → 24
#   tickets     called_at before issued_at (called_before_issued)              1 in months 1,3,5,…       → 12
# No dirty case is a re-exported one, and no dirty case belongs to the gap unit.
DIRTY_PLAN: dict[str, Callable[[int], int]] = {
    "completed_before_accepted": lambda i: 1 + (i % 3 == 0),
    "unknown_unit": lambda i: int(i % 4 != 3),
    "rating_out_of_range": lambda i: 1,
    "called_before_issued": lambda i: int(i % 2 == 0),
}
DIRTY_COUNTS = {k: sum(f(i) for i in range(MONTHS)) for k, f in DIRTY_PLAN.items()}
# ---------------------------------------------------------------------------------------------------------

# Chinese headers of the 办件明细 export; data/mappings/cases_zh.toml maps them back (a test keeps both equal).
CASES_ZH: dict[str, str] = {
    "case_id": "办件编号",
    "item_code": "事项编码",
    "item_name": "事项名称",
    "item_kind": "办件类型",
    "unit_code": "受理单位编码",
    "window_code": "窗口编号",
    "staff_id": "经办人工号",
    "hall_code": "大厅编码",
    "channel": "受理渠道",
    "accepted_at": "受理时间",
    "legal_days": "法定时限(工作日)",
    "promised_days": "承诺时限(工作日)",
    "deadline_at": "办理期限",
    "completed_at": "办结时间",
    "status": "办件状态",
    "suspended_days": "特别程序时长(工作日)",
    "full_online": "是否全程网办",
    "secondary_entry": "是否二次录入",
    "archived": "是否归档",
    "updated_at": "更新时间",
    "applicant_name": "申请人姓名",
    "applicant_id_number": "申请人证件号码",
    "applicant_phone": "申请人联系电话",
}

MAIN_HALL = "H001"
# (name, short name, kind, group, relative case volume, windows)
UNIT_SPECS: list[tuple[str, str, str, str, float, int]] = [
    ("市场监督管理局", "市场监管", "部门", "第一圈层", 9.0, 12),
    ("人力资源和社会保障局", "人社", "部门", "第一圈层", 8.0, 10),
    ("不动产登记中心", "不动产", "部门", "第一圈层", 9.0, 12),
    ("公安局出入境管理大队", "出入境", "部门", "第一圈层", 4.0, 6),
    ("公安局交通管理支队车辆管理所", "车管所", "部门", "第一圈层", 5.0, 7),
    ("医疗保障局", "医保", "部门", "第一圈层", 7.0, 8),
    ("住房和城乡建设局", "住建", "部门", "第二圈层", 4.0, 5),
    ("自然资源和规划局", "自然资源", "部门", "第二圈层", 2.0, 3),
    ("民政局", "民政", "部门", "第二圈层", 2.0, 3),
    ("卫生健康委员会", "卫健", "部门", "第二圈层", 3.0, 5),
    ("交通运输局", "交通", "部门", "第二圈层", 1.5, 2),
    ("生态环境局", "生态环境", "部门", "第二圈层", 0.8, 2),
    ("教育局", "教育", "部门", "第二圈层", 1.2, 2),
    ("文化广电旅游局", "文旅", "部门", "第二圈层", 0.8, 2),
    ("农业农村局", "农业农村", "部门", "第二圈层", 1.0, 2),
    ("水务局", "水务", "部门", "第二圈层", 0.6, 1),
    ("商务局", "商务", "部门", "第二圈层", 0.6, 1),
    ("城市管理局", "城管", "部门", "第二圈层", 1.0, 2),
    ("退役军人事务局", "退役军人", "部门", "第二圈层", 0.8, 1),
    ("残疾人联合会", "残联", "部门", "第二圈层", 0.8, 1),
    ("应急管理局", "应急", "部门", "第二圈层", 0.5, 1),
    ("司法局", "司法", "部门", "第二圈层", 0.6, 1),
    ("发展和改革局", "发改", "部门", "第二圈层", 0.6, 1),
    ("工业和信息化局", "工信", "部门", "第二圈层", 0.4, 1),
    ("税务局", "税务", "派驻单位", "第一圈层", 10.0, 14),
    ("住房公积金管理中心", "公积金", "派驻单位", "第一圈层", 5.0, 6),
    ("供电公司", "供电", "派驻单位", "第二圈层", 4.0, 3),
    ("供水公司", "供水", "派驻单位", "第二圈层", 1.2, 2),
    ("燃气公司", "燃气", "派驻单位", "第二圈层", 1.2, 2),
    ("公证处", "公证", "派驻单位", "第二圈层", 1.0, 2),
    ("城关镇", "城关镇", "乡镇", "第三圈层", 4.0, 5),
    ("东城街道", "东城街道", "乡镇", "第三圈层", 2.0, 4),
    ("西城街道", "西城街道", "乡镇", "第三圈层", 2.0, 4),
    ("南湖街道", "南湖街道", "乡镇", "第三圈层", 1.5, 4),
    ("北山街道", "北山街道", "乡镇", "第三圈层", 1.2, 3),
    ("青石镇", "青石镇", "乡镇", "第三圈层", 1.0, 2),
    ("柳河镇", "柳河镇", "乡镇", "第三圈层", 1.0, 2),
    ("白马镇", "白马镇", "乡镇", "第三圈层", 0.8, 2),
    ("龙泉镇", "龙泉镇", "乡镇", "第三圈层", 0.8, 2),
    ("桃源乡", "桃源乡", "乡镇", "第三圈层", 0.5, 2),
]
PARENTS = {"不动产登记中心": "自然资源和规划局"}

TOWN_ITEMS = [
    "城乡居民养老保险参保登记", "城乡居民医保参保登记", "最低生活保障申请", "临时救助申请", "高龄津贴申领",
    "残疾人两项补贴申请", "农村宅基地和建房审批", "生育登记", "就业失业登记", "特困人员救助供养申请",
]
ITEM_NAMES: dict[str, list[str]] = {
    "市场监管": ["企业设立登记", "企业变更登记", "企业注销登记", "个体工商户设立登记", "个体工商户变更登记",
             "食品经营许可", "食品经营许可变更", "食品生产许可", "药品零售企业许可", "第二类医疗器械经营备案",
             "特种设备使用登记", "营业执照遗失补领", "农民专业合作社设立登记", "股权出质登记"],
    "人社": ["社会保障卡申领", "社会保障卡挂失补换", "城镇职工养老保险参保登记", "灵活就业人员参保登记",
           "养老保险关系转移接续", "失业保险金申领", "就业创业证申领", "退休待遇核准", "工伤认定申请",
           "职业技能等级证书查询打印", "劳动用工备案", "高校毕业生就业补贴申领"],
    "不动产": ["国有建设用地使用权及房屋所有权首次登记", "二手房转移登记", "新建商品房转移登记", "抵押权首次登记",
            "抵押权注销登记", "预告登记", "不动产变更登记", "不动产更正登记", "查封登记", "不动产权证书补换证",
            "不动产登记资料查询", "继承转移登记"],
    "出入境": ["普通护照签发", "往来港澳通行证签发", "港澳签注", "往来台湾通行证签发", "赴台签注", "护照换发补发",
            "外国人居留许可"],
    "车管所": ["机动车注册登记", "机动车转移登记", "机动车变更登记", "机动车检验标志核发", "驾驶证换证",
            "驾驶证补证", "机动车号牌补领", "驾驶证审验", "临时号牌核发"],
    "医保": ["医保参保登记", "医保关系转移接续", "异地就医备案", "门诊慢特病待遇认定", "医疗费用零星报销",
           "生育津贴申领", "城乡居民医保参保缴费", "医保电子凭证激活", "定点医药机构申请受理", "医保个人账户家庭共济备案"],
    "住建": ["建筑工程施工许可证核发", "房屋建筑和市政工程竣工验收备案", "商品房预售许可", "建筑业企业资质核准",
           "房屋租赁登记备案", "物业服务企业备案", "城市建筑垃圾处置核准", "燃气经营许可证核发"],
    "自然资源": ["建设用地规划许可证核发", "建设工程规划许可证核发", "乡村建设规划许可证核发", "建设项目用地预审",
             "临时用地审批", "测绘资质审批"],
    "民政": ["内地居民婚姻登记", "内地居民离婚登记", "补领婚姻登记证", "社会团体成立登记", "民办非企业单位成立登记",
           "最低生活保障审核确认", "殡葬补助申领"],
    "卫健": ["医疗机构执业登记", "医师执业注册", "护士执业注册", "公共场所卫生许可", "出生医学证明办理",
           "放射诊疗许可", "生育登记服务"],
    "交通": ["道路旅客运输经营许可", "道路货物运输经营许可", "道路运输从业资格证核发", "网络预约出租汽车运输证核发",
           "超限运输车辆行驶公路许可"],
    "生态环境": ["建设项目环境影响评价文件审批", "排污许可证核发", "危险废物经营许可", "辐射安全许可"],
    "教育": ["民办学校设立审批", "教师资格认定", "校外培训机构设立审批", "学籍证明办理"],
    "文旅": ["娱乐场所经营许可", "互联网上网服务营业场所经营许可", "旅行社设立许可", "营业性演出审批"],
    "农业农村": ["农药经营许可", "兽药经营许可", "种子生产经营许可", "动物防疫条件合格证核发", "拖拉机和联合收割机登记"],
    "水务": ["取水许可", "河道管理范围内建设项目工程建设方案审批", "生产建设项目水土保持方案审批"],
    "商务": ["对外贸易经营者备案", "成品油零售经营资格审核", "单用途商业预付卡备案"],
    "城管": ["城市道路占用挖掘许可", "户外广告设置许可", "城市绿地树木迁移审批", "临时占道经营许可"],
    "退役军人": ["退役士兵安置", "优抚对象抚恤补助", "退役军人优待证申领"],
    "残联": ["残疾人证核发", "残疾人两项补贴申领", "残疾人辅助器具适配"],
    "应急": ["危险化学品经营许可", "烟花爆竹零售经营许可", "生产经营单位应急预案备案"],
    "司法": ["法律援助申请", "人民调解申请", "基层法律服务工作者执业核准"],
    "发改": ["企业投资项目备案", "企业投资项目核准", "固定资产投资项目节能审查"],
    "工信": ["工业企业技术改造项目备案", "无线电台(站)设置审批", "工业企业名录登记"],
    "税务": ["增值税发票领用", "增值税专用发票代开", "税务登记信息确认", "个人所得税综合所得汇算清缴", "完税证明开具",
           "房产交易契税申报", "车辆购置税申报", "社保费缴纳", "增值税一般纳税人登记", "跨区域涉税事项报告",
           "税务注销", "出口退税备案"],
    "公积金": ["住房公积金缴存登记", "住房公积金个人账户设立", "住房公积金提取(租房)", "住房公积金提取(购房)",
            "住房公积金贷款申请", "住房公积金贷款结清", "住房公积金缴存证明打印"],
    "供电": ["低压居民新装", "低压非居民新装", "高压新装增容", "用电更名过户", "电费发票打印"],
    "供水": ["用水报装", "水表迁移", "用水过户"],
    "燃气": ["燃气开户", "燃气报装", "燃气过户"],
    "公证": ["学历公证", "亲属关系公证", "委托公证", "继承公证"],
}

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
            "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚辉玲华红梅鹏飞婷宇浩然欣怡涵晨阳佳琪思雨嘉俊博文瑞雪建国志"
         "海燕晓东丹凤英秀兰桂芝玉春德亮斌林峰琳颖倩慧婧蕾彤鑫宏新成波晶蓉萍健荣莉宁凯旭昊天子轩雅晴诗梓萱")
REGIONS = ("510104", "510105", "510106", "510107", "510108", "510112", "510113", "510114", "510115", "510116",
           "510121", "510129", "510131", "510181", "510182", "510183", "510184", "511002", "511011", "513401",
           "510522", "500101", "620102", "430102", "420106", "410102", "320102", "440106")
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
BAD_TAGS = ("态度不好", "等待时间长", "办事效率低", "多次跑动", "材料要求不清", "一次性告知不到位", "系统故障",
            "窗口空岗", "流程繁琐")

NEGATIVE_EVENTS = {code for code, spec in event_types().items() if spec["kind"] != "bonus"}
# What the hall office records, by how often (relative weights within each mix). A unit's conduct level sets how many
# deductions and bonuses it collects a month and how heavy its deductions run; catalog types not named here turn up
# now and then in the background mixes, so every type the rulesets read occurs.
LIGHT_EVENTS = {"late": 26, "post_empty": 18, "phone": 11, "dress": 9, "attitude": 7, "evaluator_off": 4,
                "misconduct": 4, "clutter": 3, "badge": 2, "meeting_absent": 2, "hygiene": 3, "uncivil_language": 2,
                "clock_in_missed": 2}
HEAVY_EVENTS = {"quarrel": 6, "norms_violation": 3, "refused_extended_service": 2, "disobey_management": 2,
                "consult_shirk": 2, "backoffice_absent": 2, "norms_unrectified": 1,
                "dual_acceptance": 0.8, "staff_change": 0.4, "rotation_roster": 0.2, "fight": 0.2,
                "inspection_negative": 0.2}
BONUS_EVENTS = {"pennant": 40, "praise_or_media": 18, "info_adopted": 7, "cooperation": 6,
                "suggestion_adopted": 4, "represented_hall": 3}
# A unit's achievements over the year (commendations, articles, tasks, meetings, innovations) are what the annual
# schemes add up: a strong unit collects about ten a year, a weak one none or one.
ACHIEVEMENT_EVENTS = {"commendation": 5, "media_positive": 4, "article_published": 3, "assigned_task_done": 3,
                      "hosted_meeting": 1.5, "other_contribution": 1.5, "innovation_promoted": 1.5,
                      "innovation_first": 1}
# Complaints, exposure and integrity cases (what vetoes read) are rare and concentrated: most units have none in a
# year, the weak ones (and a unit in a bad spell or late in its decline) one or two.
RARE_EVENTS = {"complaint_12345": 40, "service_complaint": 20, "efficiency_complaint": 12, "media_exposure": 8,
               "criticized": 8,
               "late_entry": 6, "integrity": 5, "case_outside_system": 5, "false_entry": 4,
               "efficiency_review_failed": 3}
BACKGROUND_WEIGHT = 0.12  # each catalog type in no mix above (per 100 of its mix's weight)
BACK_OFFICE_EVENTS = {"backoffice_absent", "clock_in_missed", "consult_shirk"}
SOURCES = {"service_complaint": "群众投诉", "media_exposure": "媒体", "case_outside_system": "电子监察",
           "false_entry": "电子监察", "late_entry": "电子监察"}  # where a record comes from when not 巡查 or 通知单
UNIT_EVENTS = {"praise_or_media", "criticized", "media_exposure", "efficiency_complaint", "efficiency_review_failed",
               "staff_change", "rotation_roster", "commendation", "media_positive", "article_published",
               "assigned_task_done", "hosted_meeting", "other_contribution", "innovation_promoted", "innovation_first",
               "info_adopted", "suggestion_adopted", "represented_hall", "cooperation", "inspection_negative"}
EVENT_TYPES = tuple(event_types())
RECORDERS = ("ZX001", "ZX002", "ZX003", "ZX004")  # hall-office inspectors: not staff of any assessed unit

# Channel mix (CHANNELS order: 窗口 网上 自助 移动端 电话 邮寄 其他) for the hall and for township centres.
CHANNEL_P_HALL = np.array([0.55, 0.22, 0.06, 0.12, 0.01, 0.03, 0.01])
CHANNEL_P_TOWN = np.array([0.80, 0.08, 0.00, 0.08, 0.02, 0.01, 0.01])
CH_WINDOW, CH_WEB, CH_MOBILE = 0, 1, 3
ST_DONE, ST_REFUSED, ST_RETURNED, ST_ENDED, ST_OPEN, ST_SUSPENDED = range(6)
KIND_NOW = 0  # 即办件


@dataclass
class DemoSummary:
    """What `generate` wrote: folder, file names, rows per table, months covered and seconds taken."""

    out_dir: Path
    files: list[str]
    rows: dict[str, int]
    months: list[str]
    seconds: float


# ----------------------------------------------------------------------------------------------- helpers


def _pool(values) -> pa.Array:
    return pa.array(list(values), pa.string())


def _take(pool: pa.Array, idx: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Strings from a small pool by index; rows where `valid` is False become null."""
    ind = pa.array(idx.astype(np.int32), mask=None if valid is None else ~valid)
    return pool.take(ind)


def _ascii(mat: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A string column from an (n, width) matrix of ASCII bytes, built without a per-row Python loop."""
    n, w = mat.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32)
    arr = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(mat, np.uint8)))
    if valid is not None and not valid.all():
        arr = pc.if_else(pa.array(valid), arr, pa.scalar(None, pa.string()))
    return arr


def _digits(nums: np.ndarray, width: int) -> np.ndarray:
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((nums.astype(np.int64)[:, None] // powers) % 10 + 48).astype(np.uint8)


def _codes(prefix: str, nums: np.ndarray, width: int) -> pa.Array:
    head = np.frombuffer(prefix.encode(), np.uint8)
    mat = np.empty((len(nums), len(head) + width), np.uint8)
    mat[:, : len(head)] = head
    mat[:, len(head):] = _digits(nums, width)
    return _ascii(mat)


def _ts(local_s: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Asia/Shanghai wall-clock seconds → a UTC-based Arrow timestamp column (null where not valid)."""
    s = local_s if valid is None else np.where(valid, local_s, 0)
    us = (s.astype(np.int64) - UTC_OFFSET) * 1_000_000
    return pa.array(us, TIMESTAMP, mask=None if valid is None else ~valid)


def _choice(rng: np.random.Generator, p: np.ndarray, n: int) -> np.ndarray:
    cdf = np.cumsum(p, dtype=float)
    idx = np.searchsorted(cdf / cdf[-1], rng.random(n), side="right")
    return np.minimum(idx, len(p) - 1)


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a person's attributes are a pure function of the person, in any month."""
    with np.errstate(over="ignore"):
        h = h.astype(np.uint64)
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return h ^ (h >> np.uint64(31))


def _office_tod(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds after midnight within office hours, busiest mid-morning and mid-afternoon."""
    r = rng.random(n)
    u = (rng.random(n) + rng.random(n)) / 2
    tod = np.where(r < 0.53, 8.5 * HOUR + u * 3 * HOUR, 13 * HOUR + u * 4 * HOUR)
    # 午间不打烊 and 延时服务: a few windows serve over lunch and after five.
    tod = np.where(r > 0.95, 12 * HOUR + u * HOUR, tod)
    tod = np.where(r > 0.98, 17 * HOUR + u * HOUR, tod)
    return tod.astype(np.int64)


HOUR_W = np.array([2, 1, 1, 1, 1, 2, 4, 8, 14, 16, 16, 14, 10, 13, 15, 15, 14, 12, 10, 10, 9, 8, 6, 4], float)


def _any_tod(rng: np.random.Generator, n: int) -> np.ndarray:
    return _choice(rng, HOUR_W, n) * HOUR + rng.integers(0, HOUR, n)


def _ym(s: str) -> tuple[int, int]:
    try:
        y, m = (int(x) for x in s.split("-"))
        dt.date(y, m, 1)
    except ValueError as e:
        raise ValueError(f"end_month must look like 2025-06, got {s!r}") from e
    return y, m


def _add_months(ym: tuple[int, int], k: int) -> tuple[int, int]:
    n = ym[0] * 12 + ym[1] - 1 + k
    return n // 12, n % 12 + 1


def _epoch_day(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


# ----------------------------------------------------------------------------------------------- dimensions


@dataclass
class _Dims:
    units: pa.Table
    windows: pa.Table
    staff: pa.Table
    items: pa.Table
    unit_code: pa.Array
    unit_hall: pa.Array
    unit_w: np.ndarray
    unit_town: np.ndarray
    unit_second: np.ndarray
    unit_win: np.ndarray  # (start, count) per unit
    unit_bo: np.ndarray
    win_code: pa.Array
    win_unit: np.ndarray
    win_staff: np.ndarray
    win_long: np.ndarray
    win_names: list[str]
    staff_id: pa.Array
    staff_names: list[str]
    item_code: pa.Array
    item_name: pa.Array
    item_names: list[str]
    item_unit: np.ndarray
    item_kind: np.ndarray
    item_legal: np.ndarray
    item_promised: np.ndarray
    item_w: np.ndarray
    name_pool: pa.Array
    unit_names: list[str]


def _person_name(rng: np.random.Generator) -> str:
    # Common surnames dominate; two-character given names are the norm.
    s = SURNAMES[min(int(rng.exponential(18)), len(SURNAMES) - 1)]
    k = 1 if rng.random() < 0.25 else 2
    return s + "".join(GIVEN[int(i)] for i in rng.integers(0, len(GIVEN), k))


def _dims(rng: np.random.Generator, stamp: np.ndarray, start: dt.date) -> _Dims:
    nu = len(UNIT_SPECS)
    codes = [f"U{i + 1:03d}" for i in range(nu)]
    names = [u[0] for u in UNIT_SPECS]
    kinds = [u[2] for u in UNIT_SPECS]
    town_no = {}
    halls = []
    for i, k in enumerate(kinds):
        if k == "乡镇":
            town_no[i] = len(town_no) + 1
            halls.append(f"H{10 + town_no[i]:03d}")
        else:
            halls.append(MAIN_HALL)
    parents = [codes[names.index(PARENTS[n])] if n in PARENTS else None for n in names]
    since = dt.date(2019, 1, 1)
    units = pa.table({
        "unit_code": codes, "name": names, "kind": kinds, "group": [u[3] for u in UNIT_SPECS],
        "parent": pa.array(parents, pa.string()), "hall_code": halls,
        "active_from": pa.array([since] * nu, pa.date32()), "active_to": pa.array([None] * nu, pa.date32()),
        "updated_at": _ts(np.repeat(stamp, nu)),
    })

    # Windows in unit order, numbered through the main hall; township centres number their own.
    w_code, w_name, w_unit, w_kind, w_long = [], [], [], [], []
    unit_win = np.zeros((nu, 2), np.int64)
    hall_no = 0
    for u, (name, short, kind, _g, _w, nwin) in enumerate(UNIT_SPECS):
        unit_win[u] = (len(w_code), nwin)
        for j in range(nwin):
            if kind == "乡镇":
                label, wk = f"{name}便民服务中心{j + 1}号窗", "综合"
            else:
                hall_no += 1
                if nwin >= 5 and j < nwin // 3:
                    label, wk = f"综合受理{hall_no}号窗", "综合"
                elif nwin >= 5 and j == nwin - 1:
                    label, wk = f"帮办代办{hall_no}号窗", "帮办"
                else:
                    label, wk = f"{short}{hall_no}号窗", "专窗"
            code = f"W{len(w_code) + 1:03d}"
            w_code.append(code)
            w_name.append(label)
            w_unit.append(u)
            w_kind.append(wk)
            w_long.append(code in LONG_QUEUE_WINDOWS)
    nw = len(w_code)
    long_units = {names[w_unit[i]] for i in range(nw) if w_long[i]}
    assert long_units == {"不动产登记中心", "公安局出入境管理大队"}, long_units
    windows = pa.table({
        "window_code": w_code, "name": w_name, "unit_code": [codes[u] for u in w_unit],
        "hall_code": [halls[u] for u in w_unit], "kind": w_kind,
        "active_from": pa.array([since] * nw, pa.date32()), "active_to": pa.array([None] * nw, pa.date32()),
        "updated_at": _ts(np.repeat(stamp, nw)),
    })

    # Staff contiguous per window (A/B 岗 rotation), then each unit's 首席代表 and back office.
    s_unit, s_win, s_role, s_name, s_from = [], [], [], [], []
    win_staff = np.zeros((nw, 2), np.int64)
    unit_bo = np.zeros((nu, 2), np.int64)
    seen: set[str] = set()

    def add(u: int, w: int | None, role: str) -> None:
        name = _person_name(rng)
        while name in seen:  # distinct names keep the staff drill-down readable
            name = _person_name(rng)
        seen.add(name)
        s_unit.append(u)
        s_win.append(w)
        s_role.append(role)
        s_name.append(name)
        s_from.append(start - dt.timedelta(days=int(rng.integers(60, 3000))))

    for u in range(nu):
        a, k = unit_win[u]
        for w in range(a, a + k):
            win_staff[w, 0] = len(s_unit)
            n = int(rng.integers(3, 5))
            for _ in range(n):
                add(u, w, "帮办代办" if w_kind[w] == "帮办" else "窗口受理")
            win_staff[w, 1] = n
        if kinds[u] != "乡镇":
            add(u, None, "首席代表")
        unit_bo[u, 0] = len(s_unit)
        nb = 1 + int(UNIT_SPECS[u][4] >= 4) + int(rng.random() < 0.5)
        for _ in range(nb):
            add(u, None, "后台审批")
        unit_bo[u, 1] = nb
    ns = len(s_unit)
    staff_ids = [f"S{i + 1:04d}" for i in range(ns)]
    staff = pa.table({
        "staff_id": staff_ids, "name": s_name, "unit_code": [codes[u] for u in s_unit],
        "window_code": pa.array([None if w is None else w_code[w] for w in s_win], pa.string()),
        "role": s_role, "active_from": pa.array(s_from, pa.date32()), "active_to": pa.array([None] * ns, pa.date32()),
        "updated_at": _ts(np.repeat(stamp, ns)),
    })

    # Item catalogue: licences and approvals are rarely 即办件; registrations, claims and printouts often are.
    i_unit, i_name, i_kind, i_legal, i_prom, i_w = [], [], [], [], [], []
    for u, (_n, short, kind, *_rest) in enumerate(UNIT_SPECS):
        lst = TOWN_ITEMS if kind == "乡镇" else ITEM_NAMES[short]
        for r, nm in enumerate(lst):
            heavy = any(x in nm for x in ("许可", "审批", "核准", "资质", "审查", "首次"))
            p_now = 0.18 if heavy else 0.55
            x = rng.random()
            if x < p_now:
                k, legal, prom = 0, 0, 0
            elif x > 0.95:
                k = 3
                legal = int(rng.choice([15, 20]))
                prom = max(1, round(legal * rng.uniform(0.5, 1.0)))
            elif x > 0.83:
                k = 2
                legal = int(rng.choice([10, 15, 20]))
                prom = max(1, round(legal * rng.uniform(0.4, 0.7)))
            else:
                k = 1
                legal = int(rng.choice([3, 5, 7, 10, 15, 20], p=[0.1, 0.25, 0.15, 0.25, 0.12, 0.13]))
                prom = max(1, round(legal * rng.uniform(0.2, 0.6)))
            i_unit.append(u)
            i_name.append(nm)
            i_kind.append(k)
            i_legal.append(legal)
            i_prom.append(prom)
            i_w.append(1.0 / (r + 1) ** 0.9)
    ni = len(i_unit)
    item_codes = [f"ITM{i + 1:05d}" for i in range(ni)]
    item_unit = np.array(i_unit)
    item_w = np.array(i_w)
    item_w /= np.bincount(item_unit, weights=item_w)[item_unit]
    items = pa.table({
        "item_code": item_codes, "item_name": i_name, "unit_code": [codes[u] for u in i_unit],
        "kind": [ITEM_KINDS[k] for k in i_kind],
        "legal_days": pa.array(i_legal, pa.int32()), "promised_days": pa.array(i_prom, pa.int32()),
        "updated_at": _ts(np.repeat(stamp, ni)),
    })

    unit_second = rng.uniform(0.02, 0.15, nu)
    pool = sorted({_person_name(rng) for _ in range(20_000)})
    return _Dims(
        units=units, windows=windows, staff=staff, items=items,
        unit_code=_pool(codes), unit_hall=_pool(halls), unit_w=np.array([u[4] for u in UNIT_SPECS]),
        unit_town=np.array([k == "乡镇" for k in kinds]),
        unit_second=unit_second, unit_win=unit_win, unit_bo=unit_bo,
        win_code=_pool(w_code), win_unit=np.array(w_unit), win_staff=win_staff, win_long=np.array(w_long),
        win_names=w_name, staff_id=_pool(staff_ids), staff_names=s_name,
        item_code=_pool(item_codes), item_name=_pool(i_name), item_names=i_name, item_unit=item_unit,
        item_kind=np.array(i_kind), item_legal=np.array(i_legal), item_promised=np.array(i_prom), item_w=item_w,
        name_pool=_pool(pool), unit_names=names,
    )


# ----------------------------------------------------------------------------------------------- people


class _People:
    """Applicants: a person index determines name, ID number and phone, so repeat applicants look the same."""

    def __init__(self, salt: int, population: int, names: pa.Array):
        self.salt = np.uint64(salt & 0xFFFFFFFFFFFF)
        self.population = max(population, 1000)
        self.names = names
        self.regions = np.array([[int(c) for c in r] for r in REGIONS], np.uint8) + 48

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        # 经办人 and agents file many cases; most people come once or twice.
        frequent = rng.random(n) < 0.12
        return np.where(frequent, rng.integers(0, max(self.population // 200, 1), n),
                        rng.integers(0, self.population, n))

    def _h(self, person: np.ndarray, k: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            return _mix(person.astype(np.uint64) * np.uint64(4) + np.uint64(k) + self.salt * np.uint64(0x9E3779B97F4A7C15))

    def name(self, person: np.ndarray) -> pa.Array:
        return _take(self.names, (self._h(person, 0) % np.uint64(len(self.names))).astype(np.int64))

    def id_number(self, person: np.ndarray) -> pa.Array:
        h = self._h(person, 1)
        n = len(person)
        region = (h % np.uint64(len(REGIONS))).astype(np.int64)
        year = 1950 + ((h >> np.uint64(8)) % np.uint64(57)).astype(np.int64)
        month = 1 + ((h >> np.uint64(16)) % np.uint64(12)).astype(np.int64)
        day = 1 + ((h >> np.uint64(24)) % np.uint64(28)).astype(np.int64)
        seq = 1 + ((h >> np.uint64(32)) % np.uint64(999)).astype(np.int64)
        mat = np.empty((n, 18), np.uint8)
        mat[:, :6] = self.regions[region]
        mat[:, 6:14] = _digits(year * 10_000 + month * 100 + day, 8)
        mat[:, 14:17] = _digits(seq, 3)
        total = (mat[:, :17].astype(np.int64) - 48) @ ID_WEIGHTS
        mat[:, 17] = ID_CHECK[total % 11]
        return _ascii(mat)

    def phone(self, person: np.ndarray, k: int = 2) -> pa.Array:
        return _phones(self._h(person, k))


SECOND_DIGIT = np.frombuffer(b"3333555556788889", np.uint8)  # 13x/15x/18x carriers dominate


def _phones(h: np.ndarray) -> pa.Array:
    n = len(h)
    mat = np.empty((n, 11), np.uint8)
    mat[:, 0] = ord("1")
    mat[:, 1] = SECOND_DIGIT[(h % np.uint64(len(SECOND_DIGIT))).astype(np.int64)]
    mat[:, 2:] = _digits(((h >> np.uint64(8)) % np.uint64(1_000_000_000)).astype(np.int64), 9)
    return _ascii(mat)


# ----------------------------------------------------------------------------------------------- context


class _Ctx:
    """Calendar arrays, month boundaries, export times and per-month case counts."""

    def __init__(self, end: tuple[int, int], cases: int, cal: WorkCalendar):
        self.months = [_add_months(end, k - MONTHS + 1) for k in range(MONTHS)]
        self.labels = [f"{y:04d}-{m:02d}" for y, m in self.months]
        first = dt.date(*self.months[0], 1)
        tb = cal.table(first, dt.date(max(cal.years), 12, 31))
        self.day0 = _epoch_day(first)
        self.work = np.asarray(tb.column("is_workday").to_numpy(zero_copy_only=False), bool)
        self.seq = np.asarray(tb.column("workday_seq").to_numpy(), np.int64)
        names = tb.column("holiday_name").to_pylist()
        self.ndays = len(self.work)
        bounds = [_epoch_day(dt.date(*_add_months(end, k - MONTHS + 1), 1)) for k in range(MONTHS + 1)]
        self.month_day = np.array(bounds, np.int64) - self.day0  # calendar index of each month's first day
        self.month_start = np.array(bounds, np.int64) * DAY
        self.export_at = self.month_start[1:] + EXPORT_LAG
        self.as_of = int(self.export_at[-1])
        self.peak = self._peaks(names)
        growth = 1 + 0.12 * np.arange(MONTHS) / (MONTHS - 1)
        w = np.array([(self.work * self.peak)[self.month_day[i]: self.month_day[i + 1]].sum() for i in range(MONTHS)])
        self.counts = _apportion(cases, w * growth)

    def _peaks(self, names: list[str]) -> np.ndarray:
        """Working days just before and after the 春节 and 国庆 breaks get the rush of people who plan around them."""
        peak = np.ones(self.ndays)
        big = np.array([any(k in n for k in ("Spring Festival", "National Day", "春节", "国庆")) for n in names])
        i = 0
        while i < self.ndays:
            if self.work[i]:
                i += 1
                continue
            j = i
            while j < self.ndays and not self.work[j]:
                j += 1
            if big[i:j].any():
                before = np.flatnonzero(self.work[:i])[-3:]
                after = np.flatnonzero(self.work[j:])[:3] + j
                peak[before] = np.maximum(peak[before], [1.5, 1.9, 2.4][3 - len(before):])
                peak[after] = np.maximum(peak[after], [2.6, 2.0, 1.5][: len(after)])
            i = j
        return peak

    def nth_workday(self, idx: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Calendar index of the k-th working day after idx (k = 0: idx itself), and whether it is in range."""
        target = self.seq[idx] + k
        out = np.searchsorted(self.seq, target, side="left")
        inside = out < self.ndays
        out = np.where(k == 0, idx, np.minimum(out, self.ndays - 1))
        return out, inside | (k == 0)

    def month_of(self, t: np.ndarray) -> np.ndarray:
        """0-based month index of local-seconds times; -1 before, MONTHS after the covered span."""
        return np.searchsorted(self.month_start, t, side="right") - 1


def _apportion(total: int, w: np.ndarray) -> np.ndarray:
    """Split `total` in proportion to `w` exactly (largest remainder), so the sum is always `total`."""
    raw = total * w / w.sum()
    base = np.floor(raw).astype(np.int64)
    rest = total - base.sum()
    base[np.argsort(-(raw - base), kind="stable")[:rest]] += 1
    return base


# ----------------------------------------------------------------------------------------------- profiles


@dataclass
class _Profile:
    """Who does well and who does not, month by month: the shares cases, ratings and events are drawn from."""

    late: np.ndarray  # (months, units) share of 承诺件 finished late (即办件 run late a third as often)
    bad: np.ndarray  # (months, units) share of given ratings that are 差评
    spot: np.ndarray  # (months, units) share of other cases finished on the spot when accepted early on a workday
    conduct: np.ndarray  # (months, units) conduct level, 0 best … 1 worst: how many deductions, how heavy
    item_late: np.ndarray  # per item: how much more often than its unit's other cases it runs late
    win_late: np.ndarray  # (months, windows) multipliers on the unit's shares at that window
    win_bad: np.ndarray
    win_conduct: np.ndarray  # per window: its share of its unit's conduct records
    events: list[tuple[np.ndarray, np.ndarray]]  # per month: event type (index into EVENT_TYPES) and unit


def _mix_p(weights: dict[str, float], kind: str, background: bool) -> np.ndarray:
    """A probability per EVENT_TYPES index: the named weights, plus a little of every unnamed catalog type of `kind`."""
    named = set(LIGHT_EVENTS) | set(HEAVY_EVENTS) | set(BONUS_EVENTS) | set(RARE_EVENTS) | set(ACHIEVEMENT_EVENTS)
    total = sum(weights.values())
    p = np.zeros(len(EVENT_TYPES))
    for k, code in enumerate(EVENT_TYPES):
        if code in weights:
            p[k] = weights[code]
        elif background and code not in named and (event_types()[code]["kind"] == "bonus") == (kind == "bonus"):
            p[k] = BACKGROUND_WEIGHT * total / 100
    return p / p.sum()


def _profile(ctx: _Ctx, d: _Dims, rng: np.random.Generator) -> _Profile:
    codes = d.unit_code.to_pylist()
    nu, nw, ni = len(codes), len(d.win_unit), len(d.item_unit)
    at = {c: k for k, c in enumerate(codes)}
    frac = np.arange(MONTHS) / (MONTHS - 1)

    # Level at mid-span and drift over the 24 months, per unit; then an offset per indicator.
    base = rng.uniform(0.18, 0.62, nu)
    drift = rng.normal(0, 0.12, nu)
    spread = np.full(nu, 0.10)
    for group, lo, hi, d_lo, d_hi in ((STRONG_UNITS, 0.03, 0.10, -0.04, 0.04), (WEAK_UNITS, 0.68, 0.80, -0.06, 0.06),
                                      (IMPROVING_UNITS, 0.50, 0.55, -0.95, -0.85),
                                      (DECLINING_UNITS, 0.42, 0.48, 0.80, 0.90)):
        for c in group:
            base[at[c]], drift[at[c]], spread[at[c]] = rng.uniform(lo, hi), rng.uniform(d_lo, d_hi), 0.03
    level = base + drift * (frac[:, None] - 0.5)
    for c, months in BAD_PATCHES.items():
        level[list(months), at[c]] += 0.65
        if months[-1] + 1 < MONTHS:
            level[months[-1] + 1, at[c]] += 0.15  # recovering

    def wobble() -> np.ndarray:  # month-to-month noise with some memory
        e = np.zeros((MONTHS, nu))
        step = rng.normal(0, 0.05, (MONTHS, nu))
        for i in range(MONTHS):
            e[i] = (0.6 * e[i - 1] if i else 0) + step[i]
        return e

    def dim(scale: float = 1.0) -> np.ndarray:
        return np.clip(level + rng.normal(0, 1, nu) * spread * scale + wobble(), 0, 1.1)

    # Conduct follows the unit's level less closely: a punctual unit may still be untidy at the counter.
    z_time, z_sat, z_conduct = dim(), dim(), dim(1.8)
    # Middling units sit a little nearer the top on the clock and in ratings than in conduct; only the units planted
    # for it (below) are rated badly month after month. The big departments run the most practised procedures: they
    # are late less often than their level says.
    planted = np.isin(codes, STRONG_UNITS + WEAK_UNITS + IMPROVING_UNITS + DECLINING_UNITS + tuple(BAD_PATCHES))
    z_sat = np.where(np.isin(codes, WEAK_UNITS), z_sat - 0.2, np.where(planted, z_sat, z_sat * 0.85))
    z_time = np.where(planted, z_time, z_time * 0.85) * np.where(d.unit_w >= 5, 0.8, 1.0)
    late = 0.004 + 0.16 * z_time**2
    bad = 0.002 + 0.085 * z_sat**2
    spot = np.clip(0.30 - 0.27 * z_time, 0.03, 0.30)
    for c in LOW_SATISFACTION_UNITS:  # rated badly every month, late somewhat more than most
        bad[:, at[c]] = 0.07 * np.exp(rng.normal(0, 0.08, MONTHS))
        late[:, at[c]] = 0.06 * np.exp(rng.normal(0, 0.1, MONTHS))
    late[:, at[DECLINING_UNIT]] = 0.02 + 0.24 * frac
    bad[:, at[DECLINING_UNIT]] = 0.006 + 0.08 * frac

    # Some items run late far more often than others (long procedures, joint approvals); the unit's share holds.
    item_late = rng.choice(np.array([0.002, 1.0, 4.0]), ni, p=[0.65, 0.22, 0.13])
    mean = np.bincount(d.item_unit, weights=d.item_w * item_late, minlength=nu)
    item_late /= mean[d.item_unit]

    # Windows: each a little better or worse than its unit, and a few of the middling units' windows with a bad
    # spell of three to five months.
    win_late = np.tile(np.exp(rng.normal(0, 0.3, nw)), (MONTHS, 1))
    win_bad = np.tile(np.exp(rng.normal(0, 0.3, nw)), (MONTHS, 1))
    multi = np.flatnonzero((d.unit_win[d.win_unit, 1] >= 2) & ~planted[d.win_unit])
    for w in rng.choice(multi, min(8, len(multi)), replace=False):
        start, span = int(rng.integers(0, MONTHS - 5)), int(rng.integers(3, 6))
        win_bad[start: start + span, w] *= 4
        win_late[start: start + span, w] *= 2.5
    win_conduct = rng.gamma(1.0, 1.0, nw)
    win_conduct /= np.bincount(d.win_unit, weights=win_conduct, minlength=nu)[d.win_unit]

    events = _event_plan(ctx, d, rng, z_conduct)
    return _Profile(late=late, bad=bad, spot=spot, conduct=z_conduct, item_late=item_late, win_late=win_late,
                    win_bad=win_bad, win_conduct=win_conduct, events=events)


def _event_plan(ctx: _Ctx, d: _Dims, rng: np.random.Generator, z: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Which events each unit collects each month: deductions by its conduct level, bonuses by the opposite, the rare
    complaint-type records capped at two a unit and year, and every catalog type at least once."""
    codes = d.unit_code.to_pylist()
    nu = len(codes)
    gap = codes.index(GAP_UNIT)
    light, heavy = _mix_p(LIGHT_EVENTS, "deduction", True), _mix_p(HEAVY_EVENTS, "deduction", False)
    bonus, rare = _mix_p(BONUS_EVENTS, "bonus", True), _mix_p(RARE_EVENTS, "deduction", False)
    achieved = _mix_p(ACHIEVEMENT_EVENTS, "bonus", False)
    size = np.clip(0.75 + 0.25 * np.sqrt(d.unit_win[:, 1] / 3), 0.8, 1.4)  # more windows, more to inspect
    prone = np.isin(codes, WEAK_UNITS)
    plan: list[tuple[np.ndarray, np.ndarray]] = []
    rare_seen: dict[tuple[int, int], int] = {}
    for i in range(MONTHS):
        zi = z[i]
        lam_d = size * (0.15 + 9 * zi + 5 * zi**2) * np.exp(rng.normal(0, 0.35, nu))
        lam_b = (0.1 + 2.4 * (1 - np.minimum(zi, 1)) ** 4) * np.exp(rng.normal(0, 0.25, nu))
        lam_r = np.where(prone | (zi > 0.8), 0.13, np.where(zi > 0.45, 0.006, 0.0))
        lam_a = 0.08 + 1.6 * (1 - np.minimum(zi, 1)) ** 2
        if i in GAP_MONTHS:
            lam_d[gap] = lam_b[gap] = lam_r[gap] = lam_a[gap] = 0
        nd, nb, nr = rng.poisson(lam_d), rng.poisson(lam_b), rng.poisson(lam_r)
        na = rng.poisson(lam_a)
        year = ctx.months[i][0]
        for u in np.flatnonzero(nr).tolist():  # at most two complaint-type records a unit and year
            have = rare_seen.get((u, year), 0)
            nr[u] = min(nr[u], 2 - have)
            rare_seen[(u, year)] = have + int(nr[u])
        ud = np.repeat(np.arange(nu), nd)
        is_heavy = rng.random(len(ud)) < 0.1 + 0.5 * np.minimum(zi[ud], 1)
        td = np.where(is_heavy, _choice(rng, heavy, len(ud)), _choice(rng, light, len(ud)))
        ub, ur = np.repeat(np.arange(nu), nb), np.repeat(np.arange(nu), nr)
        ua = np.repeat(np.arange(nu), na)
        plan.append((np.concatenate([td, _choice(rng, bonus, len(ub)), _choice(rng, rare, len(ur)),
                                     _choice(rng, achieved, len(ua))]),
                     np.concatenate([ud, ub, ur, ua])))
    # Every catalog type occurs: a missing deduction goes to one of the month's weakest units (a complaint-type one
    # only while the unit has fewer than two that year), a bonus to one of the strongest.
    seen = np.bincount(np.concatenate([t for t, _ in plan]), minlength=len(EVENT_TYPES))
    for k in np.flatnonzero(seen == 0):
        i = int(rng.integers(0, MONTHS))
        year = ctx.months[i][0]
        order = np.argsort(z[i], kind="stable")
        order = order[order != gap] if i in GAP_MONTHS else order
        is_bonus = event_types()[EVENT_TYPES[k]]["kind"] == "bonus"
        pick = order[:5] if is_bonus else order[-5:]
        if EVENT_TYPES[k] in RARE_EVENTS:
            pick = np.array([u for u in order[::-1].tolist() if rare_seen.get((u, year), 0) < 2][:5])
        u = int(pick[rng.integers(0, len(pick))])
        if EVENT_TYPES[k] in RARE_EVENTS:
            rare_seen[(u, year)] = rare_seen.get((u, year), 0) + 1
        t, un = plan[i]
        plan[i] = (np.append(t, k), np.append(un, u))
    return plan


# ----------------------------------------------------------------------------------------------- one month


@dataclass
class _Month:
    cases: pa.Table  # versions as exported in this month's file
    reexports: list[tuple[int, pa.Table]]
    evaluations: list[tuple[int, pa.Table]]
    supervision: list[tuple[int, pa.Table]]
    tickets: pa.Table
    events: pa.Table


def _split(table: pa.Table, month: np.ndarray) -> list[tuple[int, pa.Table]]:
    """Rows grouped by the month file they belong to; rows after the covered span are not exported yet."""
    out = []
    for m in np.unique(month):
        if 0 <= m < MONTHS:
            out.append((int(m), table.filter(pa.array(month == m))))
    return out


def _month(ctx: _Ctx, d: _Dims, prof: _Profile, people: _People, i: int, rng: np.random.Generator) -> _Month:
    n = int(ctx.counts[i])
    ym = ctx.months[i][0] * 100 + ctx.months[i][1]
    frac = i / (MONTHS - 1)
    u_gap = d.unit_code.to_pylist().index(GAP_UNIT)

    # What is applied for, where and how.
    unit_w = d.unit_w.copy()
    if i in GAP_MONTHS:
        unit_w[u_gap] = 0.0
    item = _choice(rng, unit_w[d.item_unit] * d.item_w, n)
    unit = d.item_unit[item]
    kind = d.item_kind[item]
    legal = d.item_legal[item]
    prom = d.item_promised[item]
    shift = np.array([-0.06, 0.04, 0, 0.02, 0, 0, 0]) * frac  # 网办 grows month by month
    ch_hall = _choice(rng, CHANNEL_P_HALL + shift, n)
    ch_town = _choice(rng, CHANNEL_P_TOWN + shift, n)
    channel = np.where(d.unit_town[unit], ch_town, ch_hall)

    # When: working days in office hours; some online applications are accepted automatically at any hour.
    lo, hi = ctx.month_day[i], ctx.month_day[i + 1]
    online = (channel == CH_WEB) | (channel == CH_MOBILE)
    anyday = online & (rng.random(n) < 0.3)
    work_p = (ctx.work * ctx.peak)[lo:hi]
    any_p = np.where(ctx.work[lo:hi], 1.0, 0.45)
    day = lo + np.where(anyday, _choice(rng, any_p, n), _choice(rng, work_p, n))
    tod = np.where(anyday, _any_tod(rng, n), _office_tod(rng, n))
    acc = (ctx.day0 + day) * DAY + tod

    order = np.argsort(acc, kind="stable")
    item, unit, kind, legal, prom, channel, day, tod, acc, anyday = (
        a[order] for a in (item, unit, kind, legal, prom, channel, day, tod, acc, anyday))

    win_case = channel == CH_WINDOW
    online = (channel == CH_WEB) | (channel == CH_MOBILE)
    r = rng.random(n)
    window = d.unit_win[unit, 0] + (r * d.unit_win[unit, 1]).astype(np.int64)
    staff_w = d.win_staff[window, 0] + (rng.random(n) * d.win_staff[window, 1]).astype(np.int64)
    staff_b = d.unit_bo[unit, 0] + (rng.random(n) * d.unit_bo[unit, 1]).astype(np.int64)
    staff = np.where(win_case, staff_w, staff_b)

    # Deadline: end of the promised_days-th working day after acceptance.
    dl_idx, _ = ctx.nth_workday(day, prom)
    deadline = (ctx.day0 + dl_idx) * DAY + DAY - 1

    # Outcome. Late share by the unit's month, the item and, at a window, the window's month.
    late_p = prof.late[i, unit] * prof.item_late[item] * np.where(win_case, prof.win_late[i, window], 1.0)
    late_p = np.minimum(np.where(kind == KIND_NOW, late_p * 0.3, late_p), 0.9)
    late = rng.random(n) < late_p
    rs = rng.random(n)
    status = np.full(n, ST_DONE)
    status[rs < 0.030] = ST_RETURNED
    status[rs < 0.015] = ST_REFUSED
    status[rs < 0.003] = ST_ENDED
    done = status == ST_DONE
    late &= done
    # 特别程序 (expert review, public notice, site survey) stops the clock; a few wait months for it.
    rsp = rng.random(n)
    susp = np.where(rsp < 0.035, 1 + np.minimum(rng.geometric(0.2, n) - 1, 29), 0)
    susp = np.where(rsp < 0.004, rng.integers(30, 70, n), susp)
    susp = np.where((kind != KIND_NOW) & done, susp, 0)
    # 即办件 are finished on the spot whenever accepted; other cases only when accepted early on a working day.
    same_day_ok = (kind == KIND_NOW) | (ctx.work[day] & (tod < 16.5 * HOUR))
    k_on = np.minimum(1 + np.floor(prom * rng.beta(1.2, 2.5, n)).astype(np.int64), prom)
    k_on = np.where(same_day_ok & (rng.random(n) < prof.spot[i, unit]), 0, k_on)
    k_late = prom + np.where(kind == KIND_NOW, 1 + (rng.random(n) < 0.3), rng.geometric(0.3, n))
    k = np.where(late, k_late, k_on) + susp
    k_closed = np.select([status == ST_REFUSED, status == ST_RETURNED, status == ST_ENDED],
                         [rng.integers(0, 3, n), rng.integers(0, 4, n), rng.integers(1, 6, n)], 0)
    k = np.where(done, k, k_closed)
    k = np.where((k == 0) & ~same_day_ok, 1, k)
    comp_idx, inside = ctx.nth_workday(day, k)
    quick = np.where(kind == KIND_NOW, 3 * MINUTE + rng.exponential(22 * MINUTE, n),
                     30 * MINUTE + rng.random(n) * np.maximum(17.5 * HOUR - tod, HOUR))
    comp = np.where(k == 0, np.minimum(acc + quick.astype(np.int64), (ctx.day0 + day) * DAY + DAY - 1),
                    (ctx.day0 + comp_idx) * DAY + _office_tod(rng, n))
    never = np.int64(2**62)
    comp = np.where(inside, comp, never)

    # The file is a snapshot at its export time: later completions arrive as newer versions in later files.
    export = int(ctx.export_at[i])
    open0 = comp > export
    st0 = np.where(open0, np.where(susp > 0, ST_SUSPENDED, ST_OPEN), status)
    arch_r = rng.random(n)
    bump_a = rng.integers(DAY, 3 * DAY, n)
    bump_u = rng.integers(MINUTE, 2 * HOUR, n)

    def versions(t_export: np.ndarray, rows: np.ndarray, closed: np.ndarray):
        c = comp[rows]
        archived = closed & (t_export - c >= 3 * DAY) & (arch_r[rows] < np.where(status[rows] == ST_DONE, 0.93, 0.6))
        upd = np.where(closed, c + np.where(archived, bump_a[rows], bump_u[rows]), acc[rows] + bump_a[rows] // 3)
        return archived, np.minimum(upd, t_export)

    allrows = np.arange(n)
    arch0, upd0 = versions(np.full(n, export), allrows, ~open0)
    comp0 = comp.copy()
    unit_out = unit.copy()

    # Dirty rows (see DIRTY_PLAN): from rows exported closed, never the gap unit, never re-exported.
    clean = ~open0 & (unit != u_gap)
    cand = np.flatnonzero(clean & done)
    pick = rng.permutation(cand)[: DIRTY_PLAN["completed_before_accepted"](i)]
    comp0[pick] = acc[pick] - rng.integers(HOUR, 48 * HOUR, len(pick))
    rest = np.setdiff1d(np.flatnonzero(clean), pick)
    pick_u = rng.permutation(rest)[: DIRTY_PLAN["unknown_unit"](i)]
    unit_out[pick_u] = len(UNIT_SPECS)  # one past the last unit: "U999"

    person = people.draw(rng, n)
    unit_codes = pa.concat_arrays([d.unit_code, _pool(["U999"])])
    base = {
        "case_id": _codes("AJ", ym * 100_000_000 + np.arange(1, n + 1), 14),
        "item_code": _take(d.item_code, item),
        "item_name": _take(d.item_name, item),
        "item_kind": _take(_pool(ITEM_KINDS), kind),
        "unit_code": _take(unit_codes, unit_out),
        "window_code": _take(d.win_code, window, win_case),
        "staff_id": _take(d.staff_id, staff),
        "hall_code": _take(d.unit_hall, unit),
        "channel": _take(_pool(CHANNELS), channel),
        "accepted_at": _ts(acc),
        "legal_days": pa.array(legal.astype(np.int32)),
        "promised_days": pa.array(prom.astype(np.int32)),
        "deadline_at": _ts(deadline),
        "completed_at": _ts(comp0, ~open0),
        "status": _take(_pool(CASE_STATUSES), st0),
        "suspended_days": pa.array(susp.astype(np.int32)),
        "full_online": pa.array(online & (rng.random(n) < 0.8)),
        "secondary_entry": pa.array(rng.random(n) < d.unit_second[unit]),
        "archived": pa.array(arch0),
        "updated_at": _ts(upd0),
        "applicant_name": people.name(person),
        "applicant_id_number": people.id_number(person),
        "applicant_phone": people.phone(person),
    }
    cases = pa.table(base)

    # Re-exports: cases open at this export and closed before a later one, exported again when they close.
    re_rows = np.flatnonzero(open0 & (comp <= ctx.as_of))
    k_file = np.searchsorted(ctx.export_at, comp[re_rows], side="left")
    if i < GAP_MONTHS[0]:
        k_file = np.where((unit[re_rows] == u_gap) & np.isin(k_file, GAP_MONTHS), GAP_MONTHS[-1] + 1, k_file)
    arch_k, upd_k = versions(ctx.export_at[k_file], re_rows, np.ones(len(re_rows), bool))
    names = cases.column_names
    re_t = cases.take(pa.array(re_rows))
    for col, arr in (("status", _take(_pool(CASE_STATUSES), status[re_rows])), ("completed_at", _ts(comp[re_rows])),
                     ("archived", pa.array(arch_k)), ("updated_at", _ts(upd_k))):
        re_t = re_t.set_column(names.index(col), col, arr)
    reexports = _split(re_t, k_file)

    ev = _evaluations(ctx, d, people, i, rng, ym, done, comp, late, unit, window, staff, channel, win_case,
                      person, base["case_id"], prof)
    sup = _supervision(ctx, rng, ym, done & (kind != KIND_NOW), day, prom, susp, k, late, comp, unit, d,
                       base["case_id"])
    tk = _tickets(ctx, d, rng, ym, win_case, acc, day, unit, window, item, i)
    events = _events(ctx, d, prof, rng, i, ym, people)
    return _Month(cases, reexports, ev, sup, tk, events)


def _evaluations(ctx, d, people, i, rng, ym, done, comp, late, unit, window, staff, channel, win_case,
                 person, case_id, prof) -> list[tuple[int, pa.Table]]:
    n = len(done)
    rated = done & (comp < 2**62) & (rng.random(n) < np.where(win_case, 0.9, 0.8))
    rows = np.flatnonzero(rated)
    m = len(rows)
    default = rng.random(m) < 0.30
    u = unit[rows]
    bad_p = prof.bad[i, u] * np.where(win_case[rows], prof.win_bad[i, window[rows]], 1.0)
    bad_p = np.minimum(np.where(late[rows], bad_p * 4, bad_p), 0.6)
    rating = _rating(rng, bad_p)
    rating[default] = 5
    delay = np.where(win_case[rows], 30 + rng.exponential(150, m), rng.exponential(6 * HOUR, m))
    t = np.where(default, comp[rows] + 5 * DAY, comp[rows] + np.minimum(delay, 3 * DAY).astype(np.int64))
    ch = channel[rows]
    ev_ch = np.where(win_case[rows], _choice(rng, np.array([0.85, 0, 0, 0.10, 0.05, 0, 0]), m),
                     np.where(np.isin(ch, [CH_WEB, CH_MOBILE]), ch, CH_WEB))
    ev_ch = np.where(default, np.where(np.isin(ch, [CH_WINDOW, CH_WEB, CH_MOBILE]), ch, CH_WEB), ev_ch)
    rater = np.where(rng.random(m) < 0.85, person[rows], people.draw(rng, m))

    # Walk-in ratings at a window's 评价器 without a case, on the days the window worked this month.
    wc = np.flatnonzero(win_case)
    nw = min(len(wc), max(int(round(m * 0.03)), DIRTY_PLAN["rating_out_of_range"](i)))
    tpl = wc[rng.integers(0, len(wc), nw)] if len(wc) else np.zeros(0, np.int64)
    wu = unit[tpl]
    w_bad = np.minimum(prof.bad[i, wu] * prof.win_bad[i, window[tpl]], 0.6)
    w_rating = _rating(rng, w_bad)
    w_day = ctx.month_day[i] + _choice(rng, ctx.work[ctx.month_day[i]: ctx.month_day[i + 1]].astype(float), nw)
    w_t = (ctx.day0 + w_day) * DAY + _office_tod(rng, nw)
    bad_w = np.flatnonzero(np.ones(nw, bool))[: DIRTY_PLAN["rating_out_of_range"](i)]
    w_rating[bad_w] = 0 if i % 2 == 0 else 6

    # 追评: after a bad rating is put right, some raters come back with a better one.
    all_rating = np.concatenate([rating, w_rating])
    all_t = np.concatenate([t, w_t])
    all_unit = np.concatenate([u, wu])
    all_win = np.concatenate([window[rows], window[tpl]])
    all_win_ok = np.concatenate([win_case[rows], np.ones(nw, bool)])
    all_staff = np.concatenate([staff[rows], staff[tpl]])
    all_case = np.concatenate([rows, np.full(nw, -1)])
    all_ch = np.concatenate([ev_ch, np.full(nw, CH_WINDOW)])
    all_default = np.concatenate([default, np.zeros(nw, bool)])
    all_rater = np.concatenate([rater, people.draw(rng, nw) + people.population])
    tot = len(all_rating)
    bad = (all_rating >= 1) & (all_rating <= 2)
    rect = bad & (rng.random(tot) < 0.88)
    rect_t = all_t + rng.integers(4 * HOUR, 12 * DAY, tot)
    rect &= rect_t <= ctx.as_of
    appeal = np.where(bad & (rng.random(tot) < 0.12), _choice(rng, np.array([0.5, 0.35, 0.15]), tot), -1)
    follow = np.flatnonzero(rect & (all_case >= 0) & (rng.random(tot) < 0.3))
    f_t = rect_t[follow] + rng.integers(HOUR, 48 * HOUR, len(follow))

    def cat(a, b):
        return np.concatenate([a, b])

    rating_f = cat(all_rating, np.where(rng.random(len(follow)) < 0.6, 5, 4))
    t_f = cat(all_t, f_t)
    unit_f = cat(all_unit, all_unit[follow])
    win_f = cat(all_win, all_win[follow])
    win_ok_f = cat(all_win_ok, all_win_ok[follow])
    staff_f = cat(all_staff, all_staff[follow])
    case_f = cat(all_case, all_case[follow])
    ch_f = cat(all_ch, np.full(len(follow), CHANNELS.index("电话")))
    default_f = cat(all_default, np.zeros(len(follow), bool))
    rater_f = cat(all_rater, all_rater[follow])
    bad_f = cat(bad, np.zeros(len(follow), bool))
    rect_f = cat(rect, np.zeros(len(follow), bool))
    rect_t_f = cat(rect_t, np.zeros(len(follow), np.int64))
    appeal_f = cat(appeal, np.full(len(follow), -1))

    keep = t_f <= ctx.as_of
    o = np.flatnonzero(keep)[np.argsort(t_f[keep], kind="stable")]
    k = len(o)
    tags = _bad_tag_pool()
    tag_idx = rng.integers(0, len(tags), k)
    latest = np.maximum(t_f[o], np.where(rect_f[o], rect_t_f[o], 0))
    upd = latest + rng.integers(0, 30 * MINUTE, k) + np.where(appeal_f[o] >= 0, rng.integers(DAY, 5 * DAY, k), 0)
    upd = np.maximum(np.minimum(upd, ctx.as_of), latest)
    has_case = case_f[o] >= 0
    table = pa.table({
        "eval_id": _codes("PJ", ym * 100_000_000 + np.arange(1, k + 1), 14),
        "case_id": case_id.take(pa.array(np.where(has_case, case_f[o], 0), mask=~has_case)),
        "unit_code": _take(d.unit_code, unit_f[o]),
        "window_code": _take(d.win_code, win_f[o], win_ok_f[o]),
        "staff_id": _take(d.staff_id, staff_f[o]),
        "rated_at": _ts(t_f[o]),
        "rating": pa.array(rating_f[o].astype(np.int32)),
        "channel": _take(_pool(CHANNELS), ch_f[o]),
        "is_default": pa.array(default_f[o]),
        "bad_tags": _take(tags, tag_idx, bad_f[o]),
        "rectified_at": _ts(rect_t_f[o], rect_f[o]),
        "appeal": _take(_pool(APPEALS), np.maximum(appeal_f[o], 0), appeal_f[o] >= 0),
        "updated_at": _ts(upd),
        "rater_phone": people.phone(rater_f[o], 3),
    })
    return _split(table, ctx.month_of(t_f[o]))


def _rating(rng: np.random.Generator, bad_p: np.ndarray) -> np.ndarray:
    n = len(bad_p)
    r = rng.random(n)
    good = np.where(r < 0.81, 5, np.where(r < 0.94, 4, 3))
    low = np.where(rng.random(n) < 0.6, 2, 1)
    return np.where(rng.random(n) < bad_p, low, good).astype(np.int64)


@functools.cache
def _bad_tag_pool() -> pa.Array:
    one = list(BAD_TAGS)
    two = [f"{a};{b}" for a in BAD_TAGS for b in BAD_TAGS if a != b]
    return _pool(one * 4 + two)  # a single tag is the more common case


def _supervision(ctx, rng, ym, eligible, day, prom, susp, k, late, comp, unit, d, case_id):
    """预警 on the last day of a case still open, 黄牌 the day after its deadline, 红牌 three working days late."""
    rows = np.flatnonzero(eligible)
    base = prom[rows] + susp[rows]
    due_idx, _ = ctx.nth_workday(day[rows], base)
    due_morning = (ctx.day0 + due_idx) * DAY + 8 * HOUR + 30 * MINUTE
    # Short promises are due tomorrow anyway: the system warns only about cases promised in 3+ working days.
    warn = (comp[rows] > due_morning) & (prom[rows] >= 3)
    over = k[rows] - base
    yellow = late[rows] & (over >= 1)
    red = late[rows] & (over >= 3)
    y_idx, y_ok = ctx.nth_workday(day[rows], base + 1)
    r_idx, r_ok = ctx.nth_workday(day[rows], base + 3)
    jitter = rng.integers(0, 20 * MINUTE, (3, len(rows)))
    parts = []
    for sig, mask, when in (
        (0, warn, due_morning + jitter[0]),
        (1, yellow & y_ok, (ctx.day0 + y_idx) * DAY + 9 * HOUR + jitter[1]),
        (2, red & r_ok, (ctx.day0 + r_idx) * DAY + 9 * HOUR + jitter[2]),
    ):
        sel = np.flatnonzero(mask)
        parts.append((np.full(len(sel), sig), rows[sel], when[sel]))
    sig = np.concatenate([p[0] for p in parts])
    case = np.concatenate([p[1] for p in parts])
    when = np.concatenate([p[2] for p in parts])
    keep = when <= ctx.as_of
    o = np.flatnonzero(keep)[np.argsort(when[keep], kind="stable")]
    m = len(o)
    table = pa.table({
        "signal_id": _codes("JC", ym * 10_000_000 + np.arange(1, m + 1), 13),
        "case_id": case_id.take(pa.array(case[o])),
        "unit_code": _take(d.unit_code, unit[case[o]]),
        "signal": _take(_pool(SIGNALS), sig[o]),
        "issued_at": _ts(when[o]),
        "updated_at": _ts(when[o] + rng.integers(0, 5 * MINUTE, m)),
    })
    return _split(table, ctx.month_of(when[o]))


def _tickets(ctx, d, rng, ym, win_case, acc, day, unit, window, item, i) -> pa.Table:
    """Queue tickets: one per window case, plus consultations without a case and people who left (过号)."""
    rows = np.flatnonzero(win_case)
    m = len(rows)
    n_consult = int(round(m * 0.10))
    n_gone = int(round(m * 0.03))
    tpl = rows[rng.integers(0, m, n_consult + n_gone)] if m else np.zeros(0, np.int64)
    w = np.concatenate([window[rows], window[tpl]])
    u = np.concatenate([unit[rows], unit[tpl]])
    it = np.concatenate([item[rows], item[tpl]])
    dd = np.concatenate([day[rows], day[tpl]])
    t = len(w)
    has_case = np.arange(t) < m
    gone = np.arange(t) >= m + n_consult
    long_q = d.win_long[w]
    wait = np.where(long_q, 40 * MINUTE + rng.gamma(2.0, 12 * MINUTE, t), rng.gamma(2.2, 5 * MINUTE, t))
    wait = np.minimum(wait * np.where(ctx.peak[dd] > 1, 1.5, 1.0), 150 * MINUTE).astype(np.int64)
    service = np.where(has_case, rng.lognormal(np.log(10 * MINUTE), 0.5, t), rng.lognormal(np.log(4 * MINUTE), 0.5, t))
    day_s = (ctx.day0 + dd) * DAY
    called = np.where(has_case, np.concatenate([acc[rows], np.zeros(t - m, np.int64)]) - rng.integers(30, 180, t),
                      day_s + _office_tod(rng, t))
    issued = np.maximum(called - wait, day_s + 8 * HOUR)
    called = np.maximum(called, issued)
    finished = called + service.astype(np.int64) + 60
    if m:
        finished[:m] = np.maximum(finished[:m], acc[rows] + 60)
    dirty = rng.permutation(m)[: DIRTY_PLAN["called_before_issued"](i)]
    called[dirty] = issued[dirty] - rng.integers(MINUTE, 30 * MINUTE, len(dirty))
    o = np.argsort(issued, kind="stable")
    upd = np.where(gone, called, finished) + rng.integers(0, 5 * MINUTE, t)
    return pa.table({
        "ticket_id": _codes("QH", ym * 100_000_000 + np.arange(1, t + 1), 14),
        "hall_code": _take(d.unit_hall, u[o]),
        "window_code": _take(d.win_code, w[o]),
        "unit_code": _take(d.unit_code, u[o]),
        "item_code": _take(d.item_code, it[o], ~(~has_case[o] & ~gone[o])),
        "issued_at": _ts(issued[o]),
        "called_at": _ts(called[o]),
        "finished_at": _ts(finished[o], ~gone[o]),
        "status": _take(_pool(TICKET_STATUSES), gone[o].astype(np.int64)),
        "updated_at": _ts(upd[o]),
    })


PENNANT_WORDS = ("热情服务暖人心", "高效办事为人民", "服务周到情暖人心", "便民利民真诚为民", "一心为民办实事")
MEDIA = {"县级": "县融媒体中心", "市级": "市日报", "省级": "省电视台", "国家级": "人民网"}
MEDIA_TOPICS = ("“一件事一次办”", "帮办代办", "延时错时服务", "“跨省通办”", "“免证办”")
CRITICISM = ("办件超期", "差评整改不及时", "窗口空岗", "数据录入不规范", "一次性告知不到位")
COMPLAINTS = ("等待时间长", "多次跑动仍未办成", "工作人员推诿", "材料要求前后不一致", "网上申报后迟迟未受理")


def _events(ctx, d, prof, rng, i, ym, people) -> pa.Table:
    """Hall-office records of the month's plan: inspections, notices, complaints, pennants and press, each with the
    window and staff member where one is meant, and a note as the office writes it."""
    etype, unit = prof.events[i]
    n = len(etype)
    codes = [EVENT_TYPES[e] for e in etype]
    neg = np.array([c in NEGATIVE_EVENTS for c in codes], bool)
    # A unit's deductions gather at its worse windows; bonuses land anywhere.
    a, k = d.unit_win[unit, 0], d.unit_win[unit, 1]
    cum = np.cumsum(prof.win_conduct)
    before = np.where(a > 0, cum[np.maximum(a - 1, 0)], 0.0)
    w_neg = np.searchsorted(cum, before + rng.random(n) * (cum[a + k - 1] - before), side="right")
    window = np.where(neg, np.clip(w_neg, a, a + k - 1), a + (rng.random(n) * k).astype(np.int64))
    staff = d.win_staff[window, 0] + (rng.random(n) * d.win_staff[window, 1]).astype(np.int64)
    back = d.unit_bo[unit, 0] + (rng.random(n) * d.unit_bo[unit, 1]).astype(np.int64)
    lo, hi = ctx.month_day[i], ctx.month_day[i + 1]
    wday = lo + _choice(rng, ctx.work[lo:hi].astype(float), n)
    aday = lo + rng.integers(0, hi - lo, n)
    anytime = np.isin(etype, [EVENT_TYPES.index(c) for c in ("complaint_12345", "media_exposure") if c in EVENT_TYPES])
    t = np.where(anytime, (ctx.day0 + aday) * DAY + 8 * HOUR + rng.integers(0, 14 * HOUR, n),
                 (ctx.day0 + wday) * DAY + _office_tod(rng, n))
    o = np.argsort(t, kind="stable")
    etype, unit, window, staff, back, t = etype[o], unit[o], window[o], staff[o], back[o], t[o]
    zc = prof.conduct[i, unit]
    phones = people.phone(people.draw(rng, n) + 7 * people.population, 4).to_pylist()
    ids = people.id_number(people.draw(rng, n) + 7 * people.population).to_pylist()

    def caller(j: int, x: float) -> str:
        # Callers and complainants dictate numbers into the record: the gate must scrub them from the note.
        return f"（联系电话 {phones[j]}）" if x < 0.25 else (f"（身份证号 {ids[j]}）" if x < 0.3 else "")

    rows = {c: [] for c in TABLES["events"].names}
    for j in range(n):
        et = EVENT_TYPES[etype[j]]
        spec = event_types()[et]
        wname, sname, uname = d.win_names[window[j]], d.staff_names[staff[j]], d.unit_names[unit[j]]
        level = severity = duration = None
        per_staff = et not in UNIT_EVENTS
        staff_j = int(back[j]) if et in BACK_OFFICE_EVENTS else int(staff[j])
        count = 1
        verified = bool(rng.random() < 0.9)
        if et == "late":
            duration = int(rng.integers(5, 46))
            severity = 1 if duration < 30 else 2
            note, source = f"巡查发现{wname}工作人员{sname}迟到{duration}分钟", "巡查"
        elif et == "post_empty":
            # 20 minutes and more is recorded; weak units leave posts longer, a few for more than half a day (旷工).
            x = rng.random()
            long_p, absent_p = 0.22 + 0.25 * min(zc[j], 1), 0.04 + 0.10 * min(zc[j], 1)
            duration = int(rng.integers(240, 481) if x < absent_p else
                           rng.integers(60, 240) if x < absent_p + long_p else rng.integers(21, 60))
            severity = 1 if duration < 60 else (2 if duration < 240 else 3)
            what = "旷工" if duration >= 240 else "空岗"
            note, source = f"{wname}{what}{duration}分钟，未放置暂停服务牌，群众等候", "巡查"
        elif et == "phone":
            severity = 3 if rng.random() < 0.05 + 0.15 * min(zc[j], 1) else 1
            count = int(1 + (rng.random() < 0.2))
            note, source = f"视频巡查发现{wname}工作人员{sname}工作时间玩手机", "巡查"
        elif et == "dress":
            severity, count = 1, int(1 + (rng.random() < 0.2))
            note, source = f"{wname}工作人员{sname}未按规定着装、未佩戴工作牌", "巡查"
        elif et == "attitude":
            severity = int(rng.integers(1, 3))
            note, source = f"群众反映{wname}工作人员{sname}服务态度生硬，经调取录音录像属实", "巡查"
        elif et == "quarrel":
            severity = 2
            note = f"办事群众{caller(j, rng.random())}反映{wname}工作人员{sname}与其争吵，经调取录音录像属实"
            source = "群众反映"
        elif et == "pennant":
            note = f"办事群众赠送锦旗“{PENNANT_WORDS[int(rng.integers(0, len(PENNANT_WORDS)))]}”，感谢{wname}工作人员{sname}"
            source = "群众赠送"
        elif et == "praise_or_media":
            level = EVENT_LEVELS[int(_choice(rng, np.array([0.4, 0.35, 0.2, 0.05]), 1)[0])]
            topic = MEDIA_TOPICS[int(rng.integers(0, len(MEDIA_TOPICS)))]
            note, source = f"{MEDIA[level]}报道{uname}{topic}便民举措", "媒体"
        elif et == "criticized":
            level = EVENT_LEVELS[int(_choice(rng, np.array([0.5, 0.35, 0.13, 0.02]), 1)[0])]
            severity = 2 if level == "县级" else 3
            reason = CRITICISM[int(rng.integers(0, len(CRITICISM)))]
            note, source = f"{uname}因{reason}被{level}通报批评", "通知单"
        elif et == "complaint_12345":
            severity = int(rng.integers(1, 4))
            what = COMPLAINTS[int(rng.integers(0, len(COMPLAINTS)))]
            note = f"12345 热线工单：来电人{caller(j, rng.random())}反映在{uname}办事{what}"
            source, per_staff = "12345", rng.random() < 0.5
        elif spec["kind"] == "bonus":
            level = EVENT_LEVELS[int(_choice(rng, np.array([0.5, 0.3, 0.15, 0.05]), 1)[0])]
            who = f"{wname}工作人员{sname}" if per_staff else uname
            note, source = f"{who}：{spec['zh']}（{level}）", "通知单"
        else:
            severity = int(rng.integers(1, 4))
            if et == "backoffice_absent":
                duration = int(rng.integers(30, 240))
            where = uname if not per_staff else (f"{uname}后台" if et in BACK_OFFICE_EVENTS else wname)
            source = SOURCES.get(et, "巡查" if per_staff else "通知单")
            note = f"{'巡查记录' if source == '巡查' else source}：{where}{spec['zh']}"
        if et in NEGATIVE_EVENTS:
            status = ("已整改" if rng.random() < 0.3 else "已确认") if verified else "待核实"
        else:
            status, verified = "已登记", True
        rows["event_id"].append(f"SJ{ym:06d}{j + 1:04d}")
        rows["occurred_at"].append(int(t[j]))
        rows["unit_code"].append(d.unit_code[unit[j]].as_py())
        rows["window_code"].append(d.win_code[window[j]].as_py() if per_staff and et not in BACK_OFFICE_EVENTS
                                   else None)
        rows["staff_id"].append(d.staff_id[staff_j].as_py() if per_staff else None)
        rows["event_type"].append(et)
        rows["level"].append(level)
        rows["severity"].append(severity)
        rows["duration_min"].append(duration)
        rows["count"].append(count)
        rows["source"].append(source)
        rows["verified"].append(verified)
        rows["status"].append(status)
        rows["note"].append(note)
        rows["recorded_by"].append(RECORDERS[int(rng.integers(0, len(RECORDERS)))])
        rows["updated_at"].append(int(t[j] + rng.integers(HOUR, 3 * DAY)))
    tt = np.array(rows["occurred_at"], np.int64)
    upd = np.minimum(np.array(rows["updated_at"], np.int64), ctx.as_of)
    types = {c.name: c.type for c in TABLES["events"].columns}
    cols = {c: pa.array(v, types[c]) for c, v in rows.items() if c not in ("occurred_at", "updated_at")}
    cols["occurred_at"] = _ts(tt)
    cols["updated_at"] = _ts(np.maximum(upd, tt))
    return pa.table({c: cols[c] for c in TABLES["events"].names})


def _periods_of(kind: str, months: list[tuple[int, int]]) -> list[tuple[str, tuple[int, int]]]:
    """The ruleset periods the demo months cover, each with its last month (when the assessors record)."""
    out: dict[str, tuple[int, int]] = {}
    for y, mo in months:
        label = {"month": f"{y:04d}-{mo:02d}", "quarter": f"{y:04d}-Q{(mo - 1) // 3 + 1}", "year": f"{y:04d}"}[kind]
        out[label] = (y, mo)
    return list(out.items())


def _manual_scores(dims, ctx, rng) -> pa.Table:
    """Assessors' values for every manual item of every shipped ruleset: mostly clean, some findings, a reason each."""
    from dashboard.core.rules import model as rm
    from dashboard.core.rules.loader import load, ruleset_files

    newest: dict[str, rm.Ruleset] = {}
    for path in ruleset_files():
        rs = load(path).ruleset
        newest[rs.id] = rs  # files sort by first period: the last one is the newest version
    units = dims.units.to_pydict()
    kind_of = dict(zip(units["unit_code"], units["kind"], strict=True))
    windows = dims.windows.to_pydict()
    staff = dims.staff.to_pydict()
    rows: dict[str, list] = {c: [] for c in TABLES["manual_scores"].names}
    for rs in newest.values():
        items = [it for sec in rs.sections for it in sec.items if isinstance(it, rm.Manual)]
        if not items:
            continue
        ok = set(rs.unit_kinds) or set(UNIT_KINDS)
        if rs.subject == "unit":
            subjects = [(u, u) for u in units["unit_code"] if kind_of[u] in ok]
        elif rs.subject == "window":
            subjects = [(u, w) for w, u in zip(windows["window_code"], windows["unit_code"], strict=True)
                        if kind_of[u] in ok]
        else:
            subjects = [(u, s) for s, u in zip(staff["staff_id"], staff["unit_code"], strict=True) if kind_of[u] in ok]
        for label, (y, mo) in _periods_of(rs.period, ctx.months):
            stamp = int(ctx.month_start[ctx.months.index((y, mo))]) + 20 * DAY
            for unit, subject in subjects:
                for it in items:
                    lo, hi = float(it.min_value), float(it.max_value)
                    if hi <= 0:  # a deduction the assessors found, or nothing
                        value = 0.0 if rng.random() < 0.7 else max(lo, -0.5 * int(rng.integers(1, 5)))
                    elif lo >= 0:  # points the assessors award, usually most of them
                        value = min(hi, max(lo, round(hi * float(rng.choice([1, 1, 0.9, 0.8, 0.6])) * 2) / 2))
                    else:
                        value = round(float(rng.uniform(lo, hi)) * 2) / 2
                    rows["ruleset_id"].append(rs.id)
                    rows["item_id"].append(it.id)
                    rows["unit_code"].append(unit)
                    rows["subject_code"].append(subject)
                    rows["period"].append(label)
                    rows["value"].append(value)
                    rows["reason"].append(f"考核组现场查验、调阅资料：{it.name.zh}")
                    rows["assessor"].append(RECORDERS[int(rng.integers(0, len(RECORDERS)))])
                    rows["updated_at"].append(stamp)
    types = {c.name: c.type for c in TABLES["manual_scores"].columns}
    cols = {c: pa.array(v, types[c]) for c, v in rows.items() if c not in ("value", "updated_at")}
    cols["value"] = pa.array([str(v) for v in rows["value"]]).cast(types["value"])
    cols["updated_at"] = _ts(np.array(rows["updated_at"], np.int64))
    return pa.table({c: cols[c] for c in TABLES["manual_scores"].names})


# ----------------------------------------------------------------------------------------------- writing


def _schema(name: str) -> pa.Schema:
    return pa.schema([pa.field(c.name, c.type) for c in TABLES[name].columns])


def _write(table: pa.Table, path: Path, name: str) -> None:
    pq.write_table(table.select(TABLES[name].names).cast(_schema(name)), path, compression="zstd",
                   row_group_size=ROW_GROUP)


def _concat(parts: list[pa.Table], name: str) -> pa.Table:
    return pa.concat_tables(parts) if parts else _schema(name).empty_table()


def _drop_gap(table: pa.Table, i: int) -> pa.Table:
    if i not in GAP_MONTHS or table.num_rows == 0:
        return table
    return table.filter(pc.not_equal(table["unit_code"], GAP_UNIT))


def _xlsx_cells(a: pa.Array) -> list:
    """One column as the cells an approval system writes: wall-clock text, 是/否, numbers and text."""
    if pa.types.is_timestamp(a.type):
        local = pc.cast(pc.add(a.cast(pa.int64()), UTC_OFFSET * 1_000_000), pa.timestamp("us"))
        return pc.strftime(local.cast(pa.timestamp("s")), "%Y-%m-%d %H:%M:%S").to_pylist()
    if pa.types.is_boolean(a.type):
        return [None if v is None else ("是" if v else "否") for v in a.to_pylist()]
    return a.to_pylist()


def _xlsx(table: pa.Table, path: Path, created: dt.datetime) -> None:
    """办件明细 as the approval system hands it over: Chinese headers, text timestamps, 是/否 flags."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                          "strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"title": "办件明细", "author": "政务服务一体化平台", "created": created})
    ws = wb.add_worksheet("办件明细")
    names = TABLES["cases"].names
    writers = []
    for j, c in enumerate(names):
        typ = TABLES["cases"].column(c).type
        writers.append(ws.write_number if pa.types.is_integer(typ) else ws.write_string)
        ws.set_column(j, j, 20 if pa.types.is_timestamp(typ) else 14)
        ws.write_string(0, j, CASES_ZH[c])
    r = 1
    # Python objects for a whole month would cost gigabytes at 50M cases: convert a slice at a time.
    for batch in table.select(names).to_batches(max_chunksize=65_536):
        cols = [_xlsx_cells(batch.column(j)) for j in range(len(names))]
        for row in zip(*cols, strict=True):
            for j, v in enumerate(row):
                if v is not None:
                    writers[j](r, j, v)
            r += 1
    wb.close()


def default_end_month(today: dt.date | None = None, cal: WorkCalendar | None = None) -> str:
    """Last calendar month before today, pulled back so that two months after it are in the calendar."""
    today = today or dt.date.today()
    end = _add_months((today.year, today.month), -1)
    top = ((max((cal or WorkCalendar()).years)), 10)
    end = min(end, top)
    return f"{end[0]:04d}-{end[1]:02d}"


def generate(out_dir: Path, *, cases: int = 1_000_000, seed: int = 7, end_month: str | None = None,
             progress: Callable[[int, int], None] | None = None) -> DemoSummary:
    """Write 24 months of demo exports ending at `end_month` into `out_dir`; same arguments, same bytes."""
    t0 = time.perf_counter()
    if cases < 0:
        raise ValueError("cases must be ≥ 0")
    cal = WorkCalendar()
    end = _ym(end_month or default_end_month(cal=cal))
    after = _add_months(end, 2)
    if after[0] not in cal.years or _add_months(end, -MONTHS + 1)[0] not in cal.years:
        raise CalendarError(f"demo data ending {end[0]:04d}-{end[1]:02d} needs the holiday schedule from "
                            f"{_add_months(end, -MONTHS + 1)[0]} to {after[0]}; known years end at {max(cal.years)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = _Ctx(end, cases, cal)
    seeds = np.random.SeedSequence(seed).spawn(MONTHS + 2)
    stamp = ctx.month_start[0]
    dims = _dims(np.random.default_rng(seeds[0]), np.array([stamp]), dt.date(*ctx.months[0], 1))
    prof = _profile(ctx, dims, np.random.default_rng(seeds[MONTHS + 1]))
    people = _People(seed * 1_000_003 + 17, int(cases * 0.75), dims.name_pool)

    files: list[str] = []
    rows: dict[str, int] = {}

    def emit(table: pa.Table, name: str, fname: str) -> None:
        _write(table, out_dir / fname, name)
        files.append(fname)
        rows[name] = rows.get(name, 0) + table.num_rows

    for name, table in (("units", dims.units), ("windows", dims.windows), ("staff", dims.staff),
                        ("items", dims.items)):
        emit(table, name, f"{name}.parquet")

    pending: dict[str, dict[int, list[pa.Table]]] = {t: {} for t in ("cases", "evaluations", "supervision")}
    for i in range(MONTHS):
        mo = _month(ctx, dims, prof, people, i, np.random.default_rng(seeds[i + 1]))
        for name, parts in (("cases", mo.reexports), ("evaluations", mo.evaluations),
                            ("supervision", mo.supervision)):
            for m, t in parts:
                pending[name].setdefault(m, []).append(t)
        label = ctx.labels[i]
        later = pending["cases"].pop(i, [])
        if i == 0:
            first = pa.concat_tables([mo.cases, *later])
            created = dt.datetime.fromtimestamp(int(ctx.export_at[0]), dt.UTC).replace(tzinfo=None)
            # A worksheet holds 1 048 576 rows: bigger months are handed over in numbered parts.
            parts = max(1, -(-first.num_rows // XLSX_ROWS))
            for p in range(parts):
                fname = f"办件明细_{label}.xlsx" if parts == 1 else f"办件明细_{label}_{p + 1}.xlsx"
                _xlsx(first.slice(p * XLSX_ROWS, XLSX_ROWS), out_dir / fname, created)
                files.append(fname)
            rows["cases"] = rows.get("cases", 0) + first.num_rows
        else:
            emit(_drop_gap(pa.concat_tables([mo.cases, *later]), i), "cases", f"cases_{label}.parquet")
        for name in ("evaluations", "supervision"):
            t = _concat(pending[name].pop(i, []), name)
            key = "rated_at" if name == "evaluations" else "issued_at"
            if t.num_rows:
                t = t.take(pc.sort_indices(t, sort_keys=[(key, "ascending")]))
            emit(_drop_gap(t, i), name, f"{name}_{label}.parquet")
        emit(mo.tickets, "tickets", f"tickets_{label}.parquet")
        emit(mo.events, "events", f"events_{label}.parquet")
        if progress is not None:
            progress(i + 1, MONTHS)
    manual = _manual_scores(dims, ctx, np.random.default_rng(seeds[0].spawn(1)[0]))
    if manual.num_rows:
        emit(manual, "manual_scores", "manual_scores.parquet")
    return DemoSummary(out_dir=out_dir, files=files, rows=rows, months=list(ctx.labels),
                       seconds=time.perf_counter() - t0)
