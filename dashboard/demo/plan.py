"""What the demo hall is and what it must show: units, items, names, event mixes, the patterns leadership
must be able to see and the dirty rows the gate must quarantine."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dashboard.core.contract import (
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
