"""A deterministic sample catalogue of a fictional city, Hexi (河西市).

``build_city_catalogue()`` generates about 1,600 dataset records spread over three CKAN
platforms, each record a raw dict shaped exactly like CKAN 2.10 ``package_show`` output.
The city open-data portal republishes ~150 open datasets of other departments under the
same ``identifier`` (sometimes as a stale copy), which exercises "one data, one source".

Resource URLs are stored with the literal prefix ``{base}``; the simulated platform
substitutes its real base URL when serving. Everything derives from ``random.Random(seed)``
and ``REFERENCE_DATE``, so the same seed always yields the same catalogue. The result is
cached per seed and shared: treat the dicts as read-only.

    >>> city = build_city_catalogue()
    >>> sorted(city.platforms)
    ['city-open-portal', 'livelihood-platform', 'transport-platform']
"""

from __future__ import annotations

import functools
import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "REFERENCE_DATE",
    "CityCatalogue",
    "Department",
    "PlatformCatalogue",
    "build_city_catalogue",
]

REFERENCE_DATE = datetime(2026, 11, 1, tzinfo=UTC)
REGION_CODE = "330100"

Package = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Department:
    """A city department: ``id`` is the slug used as the CKAN organization name."""

    id: str
    name_zh: str
    name_en: str
    code: str


@dataclass(frozen=True, eq=False)
class PlatformCatalogue:
    """The records one simulated platform serves (raw CKAN dicts, read-only)."""

    id: str
    title: str
    title_en: str
    packages: list[Package]
    organizations: list[dict[str, Any]]
    groups: list[dict[str, Any]]


@dataclass(frozen=True, eq=False)
class CityCatalogue:
    """The whole city: its departments and the platforms that publish their data."""

    seed: int
    departments: list[Department]
    platforms: dict[str, PlatformCatalogue]

    def department(self, dept_id: str) -> Department:
        return next(d for d in self.departments if d.id == dept_id)


DEPARTMENTS = [
    Department("transport", "交通运输局", "Transport Bureau", "JTJ"),
    Department("housing", "住房和城乡建设局", "Housing and Urban-Rural Development Bureau", "ZJJ"),
    Department("planning", "自然资源和规划局", "Natural Resources and Planning Bureau", "GHJ"),
    Department("health", "卫生健康委员会", "Health Commission", "WJW"),
    Department("education", "教育局", "Education Bureau", "JYJ"),
    Department("civil-affairs", "民政局", "Civil Affairs Bureau", "MZJ"),
    Department("public-security", "公安局", "Public Security Bureau", "GAJ"),
    Department("environment", "生态环境局", "Ecology and Environment Bureau", "HBJ"),
    Department("market", "市场监督管理局", "Market Supervision Administration", "SJJ"),
    Department("statistics", "统计局", "Statistics Bureau", "TJJ"),
]

# (platform id, Chinese title, English title, {department: number of own datasets})
PLATFORMS: list[tuple[str, str, str, dict[str, int]]] = [
    (
        "transport-platform",
        "城市交通与建设数据平台",
        "Urban Transport and Construction Data Platform",
        {"transport": 200, "housing": 180, "planning": 170},
    ),
    (
        "livelihood-platform",
        "民生服务数据共享平台",
        "Livelihood Services Data Sharing Platform",
        {"health": 150, "education": 140, "civil-affairs": 130, "public-security": 130},
    ),
    (
        "city-open-portal",
        "河西市公共数据开放平台",
        "Hexi Public Data Open Portal",
        {"environment": 130, "market": 120, "statistics": 100},
    ),
]
CITY_PORTAL = "city-open-portal"
COPIES_ON_CITY_PORTAL = 150

GROUPS = [
    ("transport", "交通", "Transport"),
    ("health", "医疗卫生", "Health"),
    ("environment", "生态环境", "Environment"),
    ("economy", "经济发展", "Economy"),
    ("education", "教育科技", "Education"),
    ("society", "社会民生", "Society"),
    ("urban-planning", "城建规划", "Urban planning"),
    ("public-safety", "公共安全", "Public safety"),
]

DISTRICTS = [
    ("东城区", "Dongcheng District", "dongcheng"),
    ("西城区", "Xicheng District", "xicheng"),
    ("滨江区", "Binjiang District", "binjiang"),
    ("高新区", "Hi-tech Zone", "gaoxin"),
    ("南湖区", "Nanhu District", "nanhu"),
    ("北山区", "Beishan District", "beishan"),
    ("临河县", "Linhe County", "linhe"),
    ("", "Hexi City", "city"),
]
YEARS: list[int | None] = [None, 2019, 2020, 2021, 2022, 2023, 2024, 2025, 2026]

# Templates per department:
# (slug, Chinese subject, English subject, tags, groups, update cycle, formats, fields)
# fields: "name:type:说明;..."
_T = tuple[str, str, str, str, str, str, str, str]
TEMPLATES: dict[str, list[_T]] = {
    "transport": [
        (
            "bus-routes",
            "公交线路",
            "Bus routes",
            "公交,线路,bus",
            "transport",
            "每月",
            "CSV JSON GeoJSON",
            "route_id:string:线路编号;route_name:string:线路名称;"
            "start_stop:string:起点站;end_stop:string:终点站;length_km:number:线路长度（公里）",
        ),
        (
            "bus-stops",
            "公交站点",
            "Bus stops",
            "公交,站点,bus stop",
            "transport",
            "每季度",
            "CSV GeoJSON SHP",
            "stop_id:string:站点编号;stop_name:string:站点名称;"
            "longitude:number:经度;latitude:number:纬度",
        ),
        (
            "bus-ridership",
            "公交客流",
            "Bus ridership",
            "公交,客流,bus",
            "transport",
            "每日",
            "CSV XLSX API",
            "route_id:string:线路编号;stat_date:date:统计日期;passengers:integer:客流量（人次）",
        ),
        (
            "bus-realtime",
            "公交车辆实时位置",
            "Real-time bus locations",
            "公交,实时,GPS",
            "transport",
            "实时",
            "API JSON",
            "vehicle_id:string:车辆编号;route_id:string:线路编号;"
            "longitude:number:经度;latitude:number:纬度;reported_at:datetime:上报时间",
        ),
        (
            "bus-timetables",
            "公交时刻表",
            "Bus timetables",
            "公交,时刻表,GTFS",
            "transport",
            "每月",
            "CSV JSON",
            "route_id:string:线路编号;stop_id:string:站点编号;departure_time:string:发车时间",
        ),
        (
            "metro-stations",
            "地铁站点",
            "Metro stations",
            "地铁,轨道交通,metro",
            "transport",
            "每年",
            "CSV GeoJSON",
            "station_id:string:站点编号;station_name:string:站点名称;"
            "line_name:string:所属线路;longitude:number:经度;latitude:number:纬度",
        ),
        (
            "metro-ridership",
            "地铁客流",
            "Metro ridership",
            "地铁,客流",
            "transport",
            "每日",
            "CSV API",
            "station_id:string:站点编号;stat_date:date:统计日期;"
            "entries:integer:进站人次;exits:integer:出站人次",
        ),
        (
            "taxi-operations",
            "出租车运营",
            "Taxi operations",
            "出租车,运营,taxi",
            "transport",
            "每月",
            "CSV XLSX",
            "company_name:string:企业名称;vehicles:integer:车辆数;"
            "trips:integer:载客次数;revenue:number:营运收入（万元）",
        ),
        (
            "parking-lots",
            "停车场",
            "Parking lots",
            "停车,停车场,parking",
            "transport",
            "每季度",
            "CSV JSON GeoJSON",
            "lot_id:string:停车场编号;lot_name:string:停车场名称;"
            "address:string:地址;spaces:integer:泊位数;fee_standard:string:收费标准",
        ),
        (
            "parking-availability",
            "停车泊位实时余量",
            "Real-time parking availability",
            "停车,泊位,实时",
            "transport",
            "实时",
            "API",
            "lot_id:string:停车场编号;free_spaces:integer:空余泊位;reported_at:datetime:上报时间",
        ),
        (
            "congestion-index",
            "道路拥堵指数",
            "Road congestion index",
            "拥堵,道路,交通指数",
            "transport",
            "每日",
            "CSV API",
            "road_name:string:道路名称;stat_time:datetime:统计时间;"
            "tpi:number:交通拥堵指数;avg_speed:number:平均车速（km/h）",
        ),
        (
            "traffic-accidents",
            "交通事故统计",
            "Traffic accident statistics",
            "交通事故,交通安全",
            "transport public-safety",
            "每月",
            "XLSX PDF",
            "stat_month:string:统计月份;"
            "accidents:integer:事故起数;deaths:integer:死亡人数;injuries:integer:受伤人数",
        ),
        (
            "public-bikes",
            "公共自行车站点",
            "Public bicycle stations",
            "公共自行车,慢行交通,bike",
            "transport",
            "每月",
            "CSV GeoJSON",
            "station_id:string:站点编号;station_name:string:站点名称;docks:integer:锁桩数",
        ),
    ],
    "housing": [
        (
            "construction-permits",
            "建筑工程施工许可",
            "Construction permits",
            "施工许可,建筑",
            "urban-planning",
            "每月",
            "CSV XLSX",
            "permit_no:string:许可证编号;"
            "project_name:string:项目名称;builder:string:建设单位;issue_date:date:发证日期",
        ),
        (
            "new-housing-sales",
            "新建商品房销售",
            "New housing sales",
            "商品房,房地产",
            "urban-planning economy",
            "每月",
            "XLSX CSV",
            "project_name:string:项目名称;"
            "units_sold:integer:成交套数;area_sold:number:成交面积（平方米）;"
            "avg_price:number:成交均价（元/平方米）",
        ),
        (
            "public-rental-housing",
            "公共租赁住房",
            "Public rental housing",
            "公租房,保障房",
            "society urban-planning",
            "每季度",
            "CSV XLSX",
            "estate_name:string:小区名称;units:integer:房源套数;rent:number:租金标准（元/月）",
        ),
        (
            "old-community-renovation",
            "老旧小区改造",
            "Old residential community renovation",
            "老旧小区,城市更新",
            "urban-planning",
            "每年",
            "XLSX PDF",
            "community:string:小区名称;"
            "households:integer:涉及户数;investment:number:投资额（万元）;status:string:实施进度",
        ),
        (
            "property-management",
            "物业服务企业",
            "Property management companies",
            "物业,企业",
            "urban-planning",
            "每季度",
            "CSV JSON",
            "company_name:string:企业名称;"
            "credit_code:string:统一社会信用代码;projects:integer:在管项目数",
        ),
        (
            "construction-sites",
            "在建工地",
            "Active construction sites",
            "工地,扬尘",
            "urban-planning environment",
            "每周",
            "CSV GeoJSON",
            "site_name:string:工地名称;"
            "address:string:地址;longitude:number:经度;latitude:number:纬度",
        ),
        (
            "building-energy",
            "公共建筑能耗",
            "Public building energy use",
            "建筑节能,能耗",
            "environment urban-planning",
            "每年",
            "XLSX",
            "building_name:string:建筑名称;"
            "floor_area:number:建筑面积;energy_kwh:number:年耗电量（千瓦时）",
        ),
        (
            "rental-registrations",
            "住房租赁备案",
            "Housing rental registrations",
            "住房租赁,备案",
            "urban-planning society",
            "每月",
            "CSV",
            "record_month:string:备案月份;"
            "contracts:integer:备案合同数;avg_rent:number:平均租金（元/月）",
        ),
        (
            "gas-pipelines",
            "城镇燃气管网",
            "Urban gas pipeline network",
            "燃气,管网",
            "urban-planning public-safety",
            "每年",
            "SHP GeoJSON",
            "pipe_id:string:管段编号;"
            "pressure_level:string:压力级别;material:string:管材;length_m:number:长度（米）",
        ),
        (
            "contractor-credit",
            "建筑企业信用评价",
            "Construction company credit ratings",
            "信用,建筑企业",
            "urban-planning economy",
            "每季度",
            "CSV XLSX",
            "company_name:string:企业名称;credit_score:number:信用分;grade:string:信用等级",
        ),
    ],
    "planning": [
        (
            "land-use",
            "土地利用现状",
            "Current land use",
            "土地利用,国土空间",
            "urban-planning",
            "每年",
            "SHP GeoJSON",
            "parcel_id:string:图斑编号;land_class:string:地类;area_m2:number:面积（平方米）",
        ),
        (
            "land-supply",
            "国有建设用地供应",
            "State-owned construction land supply",
            "土地供应,土地出让",
            "urban-planning economy",
            "每月",
            "CSV XLSX",
            "parcel_no:string:地块编号;use:string:用途;area_m2:number:面积;price:number:成交价（万元）",
        ),
        (
            "zoning-plans",
            "控制性详细规划",
            "Regulatory detailed plans",
            "控规,规划",
            "urban-planning",
            "不定期",
            "PDF SHP",
            "unit_code:string:规划单元编号;"
            "land_use:string:用地性质;far:number:容积率;height_limit:number:限高（米）",
        ),
        (
            "planning-permits",
            "建设工程规划许可",
            "Construction project planning permits",
            "规划许可,工程建设",
            "urban-planning",
            "每月",
            "CSV XLSX",
            "permit_no:string:许可证编号;project_name:string:项目名称;floor_area:number:建筑面积",
        ),
        (
            "cadastral-parcels",
            "地籍宗地",
            "Cadastral parcels",
            "地籍,不动产",
            "urban-planning",
            "每季度",
            "SHP",
            "parcel_code:string:宗地代码;owner_type:string:权利类型;area_m2:number:宗地面积",
        ),
        (
            "geological-hazards",
            "地质灾害隐患点",
            "Geological hazard sites",
            "地质灾害,防灾减灾",
            "public-safety urban-planning",
            "每年",
            "CSV GeoJSON",
            "site_id:string:隐患点编号;"
            "hazard_type:string:灾害类型;threat_people:integer:威胁人数;"
            "longitude:number:经度;latitude:number:纬度",
        ),
        (
            "basic-farmland",
            "永久基本农田",
            "Permanent basic farmland",
            "耕地保护,基本农田",
            "urban-planning",
            "每年",
            "SHP",
            "block_id:string:图斑编号;area_mu:number:面积（亩）",
        ),
        (
            "aerial-imagery",
            "航空影像图",
            "Aerial imagery",
            "影像,测绘,WMS",
            "urban-planning",
            "每年",
            "API",
            "tile_matrix:string:瓦片矩阵;resolution_m:number:分辨率（米）",
        ),
        (
            "place-names",
            "标准地名",
            "Standard place names",
            "地名,地址",
            "urban-planning society",
            "每季度",
            "CSV JSON",
            "name:string:标准名称;category:string:地名类别;"
            "longitude:number:经度;latitude:number:纬度",
        ),
        (
            "property-registrations",
            "不动产登记统计",
            "Real estate registration statistics",
            "不动产,登记",
            "urban-planning economy",
            "每月",
            "XLSX",
            "stat_month:string:统计月份;"
            "registrations:integer:登记件数;mortgages:integer:抵押登记件数",
        ),
    ],
    "health": [
        (
            "medical-institutions",
            "医疗机构名录",
            "Medical institution directory",
            "医院,医疗机构,hospital",
            "health",
            "每季度",
            "CSV JSON GeoJSON",
            "org_name:string:机构名称;level:string:机构等级;address:string:地址;phone:string:联系电话",
        ),
        (
            "community-health-centres",
            "社区卫生服务中心",
            "Community health service centres",
            "社区卫生,基层医疗",
            "health",
            "每季度",
            "CSV GeoJSON",
            "centre_name:string:中心名称;address:string:地址;opening_hours:string:服务时间",
        ),
        (
            "outpatient-visits",
            "门急诊人次统计",
            "Outpatient and emergency visits",
            "门诊,急诊",
            "health",
            "每月",
            "XLSX CSV",
            "hospital:string:医院名称;stat_month:string:统计月份;visits:integer:门急诊人次",
        ),
        (
            "infectious-diseases",
            "法定传染病疫情",
            "Notifiable infectious disease statistics",
            "传染病,疾控",
            "health public-safety",
            "每月",
            "PDF XLSX",
            "disease:string:病种;cases:integer:发病数;deaths:integer:死亡数",
        ),
        (
            "vaccination-clinics",
            "预防接种门诊",
            "Vaccination clinics",
            "疫苗,预防接种",
            "health",
            "每季度",
            "CSV JSON",
            "clinic_name:string:门诊名称;address:string:地址;vaccines:string:可接种疫苗",
        ),
        (
            "birth-monitoring",
            "出生人口监测",
            "Birth monitoring",
            "出生,妇幼健康",
            "health society",
            "每月",
            "XLSX",
            "stat_month:string:统计月份;births:integer:出生人数;sex_ratio:number:出生性别比",
        ),
        (
            "hospital-beds",
            "医疗卫生机构床位",
            "Hospital beds",
            "床位,医疗资源",
            "health",
            "每年",
            "XLSX CSV",
            "org_name:string:机构名称;beds:integer:实有床位数;occupancy:number:病床使用率",
        ),
        (
            "registered-physicians",
            "执业医师注册",
            "Registered physicians",
            "医师,执业注册",
            "health",
            "每月",
            "CSV",
            "licence_no:string:执业证书编号;specialty:string:执业范围;org_name:string:执业机构",
        ),
        (
            "elderly-health",
            "老年人健康管理",
            "Elderly health management",
            "老年人,健康管理",
            "health society",
            "每季度",
            "XLSX",
            "community:string:社区;people:integer:管理人数;checkup_rate:number:体检率",
        ),
        (
            "designated-pharmacies",
            "定点零售药店",
            "Designated retail pharmacies",
            "药店,医保",
            "health",
            "每季度",
            "CSV JSON",
            "pharmacy_name:string:药店名称;address:string:地址",
        ),
    ],
    "education": [
        (
            "student-bus-cards",
            "学生公交卡办理",
            "Student bus cards",
            "公交,学生卡,bus",
            "education transport",
            "每半年",
            "CSV",
            "school_name:string:学校名称;cards:integer:办卡人数",
        ),
        (
            "schools",
            "中小学校名录",
            "Primary and secondary schools",
            "学校,中小学,school",
            "education",
            "每年",
            "CSV JSON GeoJSON",
            "school_name:string:学校名称;"
            "school_type:string:办学类型;address:string:地址;phone:string:联系电话",
        ),
        (
            "kindergartens",
            "幼儿园名录",
            "Kindergartens",
            "幼儿园,学前教育",
            "education",
            "每年",
            "CSV JSON",
            "name:string:幼儿园名称;nature:string:办园性质;classes:integer:班级数",
        ),
        (
            "school-catchments",
            "学区划分",
            "School catchment areas",
            "学区,招生",
            "education",
            "每年",
            "SHP GeoJSON PDF",
            "school_name:string:学校名称;catchment:string:施教区范围",
        ),
        (
            "enrollment-plans",
            "招生计划",
            "Enrollment plans",
            "招生,入学",
            "education",
            "每年",
            "XLSX PDF",
            "school_name:string:学校名称;classes:integer:招生班数;places:integer:招生人数",
        ),
        (
            "student-statistics",
            "在校学生数",
            "Student enrolment statistics",
            "学生,教育统计",
            "education",
            "每年",
            "XLSX CSV",
            "school_level:string:学段;students:integer:在校生数",
        ),
        (
            "teacher-statistics",
            "教师队伍统计",
            "Teacher workforce statistics",
            "教师,师资",
            "education",
            "每年",
            "XLSX",
            "school_level:string:学段;teachers:integer:专任教师数",
        ),
        (
            "training-institutions",
            "校外培训机构",
            "Off-campus training institutions",
            "培训机构,校外培训",
            "education",
            "每季度",
            "CSV JSON",
            "org_name:string:机构名称;licence_no:string:办学许可证号;courses:string:培训类别",
        ),
        (
            "school-canteens",
            "学校食堂",
            "School canteens",
            "食堂,食品安全",
            "education health",
            "每半年",
            "CSV",
            "school_name:string:学校名称;canteen_grade:string:量化分级",
        ),
        (
            "exam-centres",
            "考点信息",
            "Examination centres",
            "考试,考点",
            "education",
            "不定期",
            "CSV PDF",
            "centre_name:string:考点名称;address:string:地址;rooms:integer:考场数",
        ),
        (
            "vocational-schools",
            "职业院校",
            "Vocational schools",
            "职业教育",
            "education",
            "每年",
            "CSV",
            "school_name:string:学校名称;majors:string:开设专业",
        ),
    ],
    "civil-affairs": [
        (
            "senior-bus-passes",
            "老年人公交优待卡",
            "Senior citizens' bus passes",
            "公交,老年人,优待卡,bus",
            "society transport",
            "每月",
            "XLSX CSV",
            "community:string:社区;cards:integer:办卡人数",
        ),
        (
            "elderly-care-facilities",
            "养老机构",
            "Elderly care facilities",
            "养老,养老机构,elderly care",
            "society",
            "每季度",
            "CSV JSON GeoJSON",
            "org_name:string:机构名称;beds:integer:床位数;address:string:地址",
        ),
        (
            "minimum-living-allowance",
            "最低生活保障",
            "Minimum living allowance",
            "低保,社会救助",
            "society",
            "每月",
            "XLSX",
            "stat_month:string:统计月份;households:integer:保障户数;"
            "people:integer:保障人数;amount:number:发放金额（万元）",
        ),
        (
            "marriage-registrations",
            "婚姻登记统计",
            "Marriage registrations",
            "婚姻登记",
            "society",
            "每月",
            "XLSX CSV",
            "stat_month:string:统计月份;"
            "marriages:integer:结婚登记对数;divorces:integer:离婚登记对数",
        ),
        (
            "social-organisations",
            "社会组织名录",
            "Registered social organisations",
            "社会组织",
            "society",
            "每季度",
            "CSV JSON",
            "org_name:string:组织名称;credit_code:string:统一社会信用代码;org_type:string:组织类型",
        ),
        (
            "residents-committees",
            "社区居委会",
            "Residents' committees",
            "社区,基层治理",
            "society",
            "每年",
            "CSV",
            "committee:string:居委会名称;address:string:办公地址;phone:string:联系电话",
        ),
        (
            "funeral-services",
            "殡葬服务机构",
            "Funeral service providers",
            "殡葬",
            "society",
            "每年",
            "CSV",
            "org_name:string:机构名称;address:string:地址",
        ),
        (
            "disability-subsidies",
            "残疾人两项补贴",
            "Disability subsidies",
            "残疾人,补贴",
            "society",
            "每月",
            "XLSX",
            "stat_month:string:统计月份;people:integer:享受人数",
        ),
        (
            "child-welfare",
            "儿童福利",
            "Child welfare",
            "儿童福利,未成年人保护",
            "society",
            "每季度",
            "XLSX PDF",
            "category:string:保障类别;children:integer:儿童人数",
        ),
        (
            "charities",
            "慈善组织",
            "Charitable organisations",
            "慈善,公益",
            "society",
            "每季度",
            "CSV",
            "org_name:string:组织名称;recognised_date:date:认定日期",
        ),
        (
            "house-numbers",
            "门牌地址",
            "House number addresses",
            "地名,门牌,address",
            "society",
            "每月",
            "CSV JSON",
            "address:string:标准地址;street:string:街道;longitude:number:经度;latitude:number:纬度",
        ),
    ],
    "public-security": [
        (
            "registered-population",
            "户籍人口统计",
            "Registered population statistics",
            "户籍,人口",
            "public-safety society",
            "每季度",
            "XLSX",
            "stat_quarter:string:统计季度;households:integer:户数;population:integer:人口数",
        ),
        (
            "traffic-violations",
            "交通违法统计",
            "Traffic violation statistics",
            "交通违法,交警",
            "public-safety transport",
            "每月",
            "XLSX CSV",
            "violation_type:string:违法类型;cases:integer:查处起数",
        ),
        (
            "motor-vehicles",
            "机动车保有量",
            "Registered motor vehicles",
            "机动车,车辆",
            "public-safety transport",
            "每月",
            "XLSX CSV",
            "vehicle_type:string:车辆类型;vehicles:integer:保有量",
        ),
        (
            "licensed-drivers",
            "驾驶人统计",
            "Licensed drivers",
            "驾驶证,驾驶人",
            "public-safety transport",
            "每月",
            "XLSX",
            "licence_class:string:准驾车型;drivers:integer:驾驶人数",
        ),
        (
            "police-stations",
            "派出所",
            "Police stations",
            "派出所,警务",
            "public-safety",
            "每年",
            "CSV GeoJSON",
            "station_name:string:派出所名称;address:string:地址;phone:string:电话",
        ),
        (
            "fire-incidents",
            "火灾统计",
            "Fire incident statistics",
            "火灾,消防",
            "public-safety",
            "每月",
            "XLSX PDF",
            "stat_month:string:统计月份;fires:integer:火灾起数;loss:number:直接财产损失（万元）",
        ),
        (
            "surveillance-points",
            "公共视频监控点位",
            "Public video surveillance points",
            "视频监控,雪亮工程",
            "public-safety",
            "每季度",
            "SHP CSV",
            "camera_id:string:点位编号;longitude:number:经度;latitude:number:纬度",
        ),
        (
            "id-card-service-points",
            "身份证办理网点",
            "ID card service points",
            "身份证,办事网点",
            "public-safety society",
            "每季度",
            "CSV JSON",
            "point_name:string:网点名称;address:string:地址;opening_hours:string:办公时间",
        ),
        (
            "entry-exit-services",
            "出入境证件办理",
            "Entry-exit document services",
            "出入境,护照",
            "public-safety",
            "每月",
            "XLSX",
            "stat_month:string:统计月份;applications:integer:受理件数",
        ),
        (
            "public-order-cases",
            "治安案件统计",
            "Public order case statistics",
            "治安,案件",
            "public-safety",
            "每月",
            "XLSX",
            "case_type:string:案件类别;cases:integer:受理起数",
        ),
    ],
    "environment": [
        (
            "bus-emissions",
            "公交车尾气排放监测",
            "Bus exhaust emission monitoring",
            "公交,尾气,机动车排放,bus",
            "environment transport",
            "每月",
            "CSV JSON",
            "plate_no:string:车牌号;nox:number:氮氧化物浓度;tested_at:datetime:检测时间",
        ),
        (
            "air-quality",
            "空气质量监测",
            "Air quality monitoring",
            "空气质量,AQI,PM2.5,air quality",
            "environment",
            "实时",
            "API CSV JSON",
            "station:string:监测站点;aqi:integer:空气质量指数;"
            "pm25:number:PM2.5浓度;measured_at:datetime:监测时间",
        ),
        (
            "surface-water-quality",
            "地表水水质",
            "Surface water quality",
            "水质,河流",
            "environment",
            "每月",
            "CSV XLSX",
            "section:string:断面名称;water_class:string:水质类别",
        ),
        (
            "environmental-noise",
            "声环境质量",
            "Environmental noise",
            "噪声,声环境",
            "environment",
            "每季度",
            "XLSX",
            "point:string:监测点位;leq_db:number:等效声级",
        ),
        (
            "key-polluters",
            "重点排污单位",
            "Key pollutant-discharging units",
            "排污,污染源",
            "environment",
            "每季度",
            "CSV JSON",
            "company_name:string:单位名称;pollutant:string:主要污染物",
        ),
        (
            "discharge-permits",
            "排污许可",
            "Pollutant discharge permits",
            "排污许可",
            "environment",
            "每月",
            "CSV",
            "permit_no:string:许可证编号;company_name:string:单位名称;valid_until:date:有效期至",
        ),
        (
            "eia-approvals",
            "环评审批",
            "Environmental impact assessment approvals",
            "环评,审批",
            "environment",
            "每月",
            "CSV PDF",
            "project_name:string:项目名称;approval_no:string:批复文号;approval_date:date:批复日期",
        ),
        (
            "drinking-water-sources",
            "饮用水水源地",
            "Drinking water sources",
            "饮用水,水源地",
            "environment health",
            "每月",
            "XLSX",
            "source_name:string:水源地名称;compliance:string:达标情况",
        ),
        (
            "soil-monitoring",
            "土壤环境监测",
            "Soil environmental monitoring",
            "土壤",
            "environment",
            "每年",
            "XLSX PDF",
            "point:string:监测点位;cadmium:number:镉含量",
        ),
        (
            "carbon-emissions",
            "碳排放统计",
            "Carbon emission statistics",
            "碳排放,双碳,carbon",
            "environment economy",
            "每年",
            "XLSX",
            "sector:string:行业;co2_t:number:二氧化碳排放量（吨）",
        ),
        (
            "environmental-penalties",
            "环境行政处罚",
            "Environmental administrative penalties",
            "行政处罚,环境执法",
            "environment",
            "每月",
            "CSV",
            "decision_no:string:处罚决定书文号;party:string:当事人;fine:number:罚款金额（元）",
        ),
    ],
    "market": [
        (
            "business-registrations",
            "市场主体登记",
            "Business registrations",
            "企业,市场主体,登记",
            "economy",
            "每日",
            "CSV JSON API",
            "credit_code:string:统一社会信用代码;name:string:主体名称;"
            "reg_date:date:成立日期;entity_type:string:主体类型",
        ),
        (
            "food-safety-sampling",
            "食品安全抽检",
            "Food safety sampling results",
            "食品安全,抽检",
            "economy health",
            "每月",
            "CSV XLSX",
            "product:string:食品名称;producer:string:生产企业;result:string:检验结论",
        ),
        (
            "food-business-licences",
            "食品经营许可",
            "Food business licences",
            "食品经营,许可",
            "economy health",
            "每月",
            "CSV",
            "licence_no:string:许可证编号;operator:string:经营者名称",
        ),
        (
            "product-quality-checks",
            "产品质量监督抽查",
            "Product quality spot checks",
            "产品质量,监督抽查",
            "economy",
            "每季度",
            "XLSX PDF",
            "product:string:产品名称;batches:integer:抽查批次;failed:integer:不合格批次",
        ),
        (
            "special-equipment",
            "特种设备",
            "Special equipment registry",
            "特种设备,电梯,elevator",
            "economy public-safety",
            "每季度",
            "CSV",
            "equipment_code:string:设备代码;category:string:设备类别;user_unit:string:使用单位",
        ),
        (
            "consumer-complaints",
            "消费投诉",
            "Consumer complaints",
            "消费者,投诉,12315",
            "economy society",
            "每月",
            "XLSX CSV",
            "stat_month:string:统计月份;complaints:integer:投诉件数;category:string:投诉类别",
        ),
        (
            "market-penalties",
            "市场监管行政处罚",
            "Market regulation penalties",
            "行政处罚",
            "economy",
            "每月",
            "CSV",
            "decision_no:string:处罚决定书文号;party:string:当事人",
        ),
        (
            "trademarks",
            "商标注册统计",
            "Trademark registration statistics",
            "商标,知识产权",
            "economy",
            "每季度",
            "XLSX",
            "stat_quarter:string:统计季度;trademarks:integer:有效注册商标数",
        ),
        (
            "price-monitoring",
            "重要商品价格监测",
            "Price monitoring of key goods",
            "价格,物价",
            "economy society",
            "每周",
            "CSV XLSX",
            "commodity:string:商品名称;price:number:价格（元）;observed_on:date:监测日期",
        ),
        (
            "abnormal-operations",
            "经营异常名录",
            "Abnormal business operations list",
            "经营异常,信用",
            "economy",
            "每月",
            "CSV JSON",
            "credit_code:string:统一社会信用代码;reason:string:列入原因;listed_on:date:列入日期",
        ),
    ],
    "statistics": [
        (
            "gross-regional-product",
            "地区生产总值",
            "Gross regional product",
            "GDP,经济",
            "economy",
            "每季度",
            "XLSX CSV",
            "period:string:统计期;gdp:number:地区生产总值（亿元）;growth:number:同比增长（%）",
        ),
        (
            "resident-population",
            "常住人口",
            "Resident population",
            "人口,统计",
            "economy society",
            "每年",
            "XLSX",
            "year:integer:年份;population:integer:常住人口",
        ),
        (
            "consumer-price-index",
            "居民消费价格指数",
            "Consumer price index",
            "CPI,价格",
            "economy",
            "每月",
            "XLSX CSV",
            "stat_month:string:统计月份;cpi:number:居民消费价格指数",
        ),
        (
            "industrial-value-added",
            "规模以上工业增加值",
            "Industrial value added",
            "工业,统计",
            "economy",
            "每月",
            "XLSX",
            "stat_month:string:统计月份;growth:number:同比增长（%）",
        ),
        (
            "retail-sales",
            "社会消费品零售总额",
            "Retail sales of consumer goods",
            "消费,零售",
            "economy",
            "每月",
            "XLSX CSV",
            "stat_month:string:统计月份;sales:number:零售总额（亿元）",
        ),
        (
            "fixed-asset-investment",
            "固定资产投资",
            "Fixed asset investment",
            "投资",
            "economy",
            "每月",
            "XLSX",
            "stat_month:string:统计月份;growth:number:同比增长（%）",
        ),
        (
            "disposable-income",
            "居民人均可支配收入",
            "Per capita disposable income",
            "收入,居民",
            "economy society",
            "每季度",
            "XLSX",
            "period:string:统计期;income:number:人均可支配收入（元）",
        ),
        (
            "urban-employment",
            "城镇就业",
            "Urban employment",
            "就业",
            "economy society",
            "每季度",
            "XLSX CSV",
            "period:string:统计期;new_jobs:integer:城镇新增就业人数",
        ),
        (
            "statistical-yearbook",
            "统计年鉴",
            "Statistical yearbook",
            "年鉴,统计",
            "economy",
            "每年",
            "PDF XLSX",
            "chapter:string:篇章;table_name:string:表名",
        ),
        (
            "economic-census",
            "经济普查",
            "Economic census",
            "普查,经济普查",
            "economy",
            "不定期",
            "XLSX PDF",
            "industry:string:行业;units:integer:法人单位数",
        ),
    ],
}

CYCLE_DAYS = {
    "实时": 1,
    "每日": 1,
    "每周": 7,
    "每月": 31,
    "每季度": 92,
    "每半年": 183,
    "每年": 366,
    "不定期": 730,
}
CYCLE_EN = {
    "实时": "in real time",
    "每日": "daily",
    "每周": "weekly",
    "每月": "monthly",
    "每季度": "quarterly",
    "每半年": "every six months",
    "每年": "annually",
    "不定期": "irregularly",
}

# Open-data propensity per department: weights for (无条件开放, 有条件开放, 不予开放).
OPEN_WEIGHTS = {
    "public-security": (10, 20, 70),
    "health": (30, 30, 40),
    "civil-affairs": (35, 30, 35),
    "environment": (65, 20, 15),
    "statistics": (75, 10, 15),
    "market": (55, 25, 20),
}
DEFAULT_OPEN_WEIGHTS = (45, 25, 30)

SHARE_CONDITIONS = [
    "仅限政务部门履行法定职责使用，需经数据提供部门审核同意。",
    "需签订数据共享使用协议，不得向第三方提供。",
    "限于交通运行监测与规划分析场景使用，按月申请。",
    "需说明使用目的与范围，经市大数据中心备案后开通。",
    "仅提供脱敏后的统计结果，原始明细不予共享。",
]
OPEN_CONDITIONS = "需在开放平台实名注册并签署数据利用协议后申请获取。"

MAINTAINERS = [
    ("张伟", "zhangwei"),
    ("王芳", "wangfang"),
    ("李娜", "lina"),
    ("刘洋", "liuyang"),
    ("陈静", "chenjing"),
    ("杨磊", "yanglei"),
    ("赵敏", "zhaomin"),
    ("黄涛", "huangtao"),
    ("周丽", "zhouli"),
    ("吴强", "wuqiang"),
    ("徐婷", "xuting"),
    ("孙浩", "sunhao"),
    ("马超", "machao"),
    ("朱琳", "zhulin"),
    ("胡军", "hujun"),
    ("郭佳", "guojia"),
]

# license_id -> (title, url or None, is open)
LICENSES: dict[str, tuple[str, str | None, bool]] = {
    "cc-by": ("Creative Commons Attribution", "http://www.opendefinition.org/licenses/cc-by", True),
    "cc-by-sa": (
        "Creative Commons Attribution Share-Alike",
        "http://www.opendefinition.org/licenses/cc-by-sa",
        True,
    ),
    "odc-by": (
        "Open Data Commons Attribution License",
        "http://www.opendefinition.org/licenses/odc-by",
        True,
    ),
    "other-closed": ("Other (Not Open)", None, False),
    "notspecified": ("License not specified", None, False),
}

# format -> (mimetype, file extension); "" is a resource whose uploader set no format.
FORMATS: dict[str, tuple[str | None, str]] = {
    "CSV": ("text/csv", "csv"),
    "JSON": ("application/json", "json"),
    "XLSX": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "XLS": ("application/vnd.ms-excel", "xls"),
    "API": ("application/json", ""),
    "SHP": ("application/zip", "zip"),
    "GeoJSON": ("application/geo+json", "geojson"),
    "PDF": ("application/pdf", "pdf"),
    "": (None, "dat"),
}


def _ts(value: datetime) -> str:
    """CKAN's timestamp format: naive UTC with microseconds."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def moment(self, start: datetime, end: datetime) -> datetime:
        span = max((end - start).total_seconds(), 1.0)
        return start + timedelta(seconds=self.rng.uniform(0, span))

    def org_dict(self, dept: Department) -> dict[str, Any]:
        return {
            "id": self.uuid(),
            "name": dept.id,
            "title": dept.name_zh,
            "type": "organization",
            "description": f"河西市{dept.name_zh}（Hexi {dept.name_en}）",
            "image_url": "",
            "created": _ts(
                self.moment(datetime(2019, 1, 2, tzinfo=UTC), datetime(2019, 3, 1, tzinfo=UTC))
            ),
            "is_organization": True,
            "approval_status": "approved",
            "state": "active",
        }

    def group_dicts(self) -> list[dict[str, Any]]:
        return [
            {
                "description": f"{zh}（{en}）",
                "display_name": zh,
                "id": self.uuid(),
                "image_display_url": "",
                "name": name,
                "title": zh,
            }
            for name, zh, en in GROUPS
        ]

    def package(
        self,
        dept: Department,
        template: _T,
        district: tuple[str, str, str],
        year: int | None,
        seq: int,
        org: dict[str, Any],
        groups: dict[str, dict[str, Any]],
    ) -> Package:
        rng = self.rng
        slug, subject_zh, subject_en, tags, group_names, cycle, formats, fields = template
        d_zh, d_en, d_slug = district
        place_zh = d_zh or "河西市"
        if year is None:
            title = f"{place_zh}{subject_zh}"
            title_en = f"{subject_en} - {d_en}"
            name = f"{slug}-{d_slug}"
        else:
            title = (
                f"{place_zh}{subject_zh}（{year}年）"
                if rng.random() < 0.6
                else f"{year}年{place_zh}{subject_zh}"
            )
            title_en = f"{subject_en} - {d_en}, {year}"
            name = f"{slug}-{d_slug}-{year}"
        field_items = [
            dict(zip(("name", "type", "description"), f.split(":"), strict=True))
            for f in fields.split(";")
        ]
        pkg_id = self.uuid()

        # Data of year Y is published during Y or early Y+1; undated data any time.
        earliest = datetime(year if year else 2019, 1, 1, tzinfo=UTC)
        latest = min(
            datetime((year or 2026) + 1, 3, 1, tzinfo=UTC), REFERENCE_DATE - timedelta(days=3)
        )
        created = self.moment(earliest, latest)
        period = timedelta(days=CYCLE_DAYS[cycle])
        if year is not None and year < 2026 and rng.random() < 0.7:
            modified = self.moment(created, min(created + timedelta(days=120), latest))
        elif rng.random() < 0.7:  # kept up to date
            modified = self.moment(max(created, REFERENCE_DATE - period * 0.9), REFERENCE_DATE)
        else:  # overdue relative to its update cycle
            modified = self.moment(created, max(created, REFERENCE_DATE - period * 1.5))
        if modified > REFERENCE_DATE:
            modified = REFERENCE_DATE - timedelta(minutes=5)

        open_type = rng.choices(
            ["无条件开放", "有条件开放", "不予开放"],
            OPEN_WEIGHTS.get(dept.id, DEFAULT_OPEN_WEIGHTS),
        )[0]
        if open_type == "无条件开放":
            share_type = rng.choices(["无条件共享", "unconditional", "有条件共享"], (80, 8, 12))[0]
            level = rng.choices([1, 2], (85, 15))[0]
        else:
            share_type = rng.choices(
                ["无条件共享", "有条件共享", "不予共享", "conditional"], (30, 50, 14, 6)
            )[0]
            level = rng.choices([1, 2, 3, 4], (10, 40, 35, 15))[0]
        if share_type == "不予共享":
            open_type = "不予开放"
            level = max(level, 3)
        sensitivity = (
            f"L{level}" if rng.random() < 0.9 else ("一级", "二级", "三级", "四级")[level - 1]
        )

        maintainer, pinyin = rng.choice(MAINTAINERS)
        extras: list[tuple[str, str]] = [("identifier", f"{REGION_CODE}/{dept.code}-{seq:05d}")]
        if rng.random() >= 0.05:
            extras += [
                ("share_type", share_type),
                ("open_type", open_type),
                ("sensitivity", sensitivity),
            ]
        if share_type in ("有条件共享", "conditional"):
            extras.append(("share_condition", rng.choice(SHARE_CONDITIONS)))
        if open_type == "有条件开放":
            extras.append(("open_condition", OPEN_CONDITIONS))
        extras += [
            ("update_cycle", cycle),
            ("contact_phone", f"0000-{rng.randrange(8000_0000, 8999_9999)}"),
            ("fields", json.dumps(field_items, ensure_ascii=False)),
            ("title_en", title_en),
            ("spatial", f"河西市{d_zh}" if d_zh else "河西市"),
        ]
        if year is not None:
            extras.append(("temporal", f"{year}-01-01/{year}-12-31"))

        field_zh = "、".join(f["description"] for f in field_items)
        field_en = ", ".join(f["name"] for f in field_items)
        notes_zh = (
            f"{place_zh}{f'{year}年' if year else ''}{subject_zh}数据，由河西市"
            f"{dept.name_zh}{'实时' if cycle == '实时' else '按' + cycle[1:]}更新，"
            f"包含{field_zh}等数据项。"
        )
        notes_en = (
            f"{subject_en} for {d_en}{f' in {year}' if year else ''}, published by the "
            f"{dept.name_en} and updated {CYCLE_EN[cycle]}. Data items: {field_en}."
        )
        roll = rng.random()
        notes: str | None
        if roll < 0.02:
            notes = None
        elif roll < 0.06:
            notes = f"<p>{notes_zh}</p><p>English: {notes_en}<br>数据来源：{dept.name_zh}</p>"
        else:
            notes = f"{notes_zh}\n\nEnglish: {notes_en}"

        # English tags appear on some records only, as real catalogues are inconsistent.
        tag_names = [t for t in tags.split(",") if not t.isascii() or rng.random() < 0.7]
        if d_zh and rng.random() < 0.5:
            tag_names.append(d_zh)
        if open_type == "不予开放":
            license_id = rng.choices(["other-closed", "notspecified"], (70, 30))[0]
        else:
            license_id = rng.choices(
                ["cc-by", "cc-by-sa", "odc-by", "notspecified"], (60, 15, 10, 15)
            )[0]
        license_title, license_url, is_open = LICENSES[license_id]

        fmt_choices = formats.split()
        n_res = min(len(fmt_choices), rng.choices([1, 2, 3], (45, 40, 15))[0])
        res_formats = rng.sample(fmt_choices, n_res)
        if rng.random() < 0.04:
            res_formats[-1] = ""
        elif rng.random() < 0.03:
            res_formats[-1] = "XLS"
        resources = [
            self.resource(pkg_id, i, fmt, subject_zh, created, modified)
            for i, fmt in enumerate(res_formats)
        ]

        with_maintainer = rng.random() >= 0.05
        package: Package = {
            "author": None,
            "author_email": None,
            "creator_user_id": self.uuid(),
            "id": pkg_id,
            "isopen": is_open,
            "license_id": license_id,
            "license_title": license_title,
            "maintainer": maintainer if with_maintainer else None,
            "maintainer_email": (
                f"{pinyin}@{dept.id}.hexi.gov.example" if with_maintainer else None
            ),
            "metadata_created": _ts(created),
            "metadata_modified": _ts(modified),
            "name": name,
            "notes": notes,
            "num_resources": len(resources),
            "num_tags": len(tag_names),
            "organization": org,
            "owner_org": org["id"],
            "private": False,
            "state": "active",
            "title": title,
            "type": "dataset",
            "url": "",
            "version": None,
            "extras": [{"key": k, "value": v} for k, v in extras],
            "groups": [groups[g] for g in group_names.split()],
            "resources": resources,
            "tags": [
                {
                    "display_name": t,
                    "id": self.uuid(),
                    "name": t,
                    "state": "active",
                    "vocabulary_id": None,
                }
                for t in tag_names
            ],
            "relationships_as_object": [],
            "relationships_as_subject": [],
        }
        if license_url is not None:  # real CKAN omits the key for licenses without a URL
            package["license_url"] = license_url
        return package

    def resource(
        self,
        pkg_id: str,
        position: int,
        fmt: str,
        subject_zh: str,
        created: datetime,
        modified: datetime,
    ) -> dict[str, Any]:
        rng = self.rng
        rid = self.uuid()
        mimetype, ext = FORMATS[fmt]
        if fmt == "API":
            url = f"{{base}}/api/data/{rid[:8]}/query"
            name, size, url_type = f"{subject_zh}查询接口", None, None
        else:
            file_name = f"data-{position + 1}.{ext}"
            url = f"{{base}}/dataset/{pkg_id}/resource/{rid}/download/{file_name}"
            name = f"{subject_zh}数据（{fmt or '文件'}）"
            size = int(rng.lognormvariate(11, 1.6)) + 512
            url_type = "upload"
        return {
            "cache_last_updated": None,
            "cache_url": None,
            "created": _ts(created),
            "datastore_active": False,
            "description": "" if rng.random() < 0.7 else f"{name}，按数据目录规范发布。",
            "format": fmt,
            "hash": "",
            "id": rid,
            "last_modified": _ts(modified) if url_type == "upload" else None,
            "metadata_modified": _ts(modified),
            "mimetype": mimetype,
            "mimetype_inner": None,
            "name": name,
            "package_id": pkg_id,
            "position": position,
            "resource_type": "api" if fmt == "API" else None,
            "size": size,
            "state": "active",
            "url": url,
            "url_type": url_type,
        }

    def department_packages(
        self, dept: Department, count: int, org: dict[str, Any], groups: dict[str, dict[str, Any]]
    ) -> list[Package]:
        # Each template yields datasets per (district, year); real-time feeds are not
        # split by year, so they run out first and the other templates fill in.
        pools = []
        for template in TEMPLATES[dept.id]:
            years = [None] if template[5] == "实时" else YEARS
            combos = [(d, y) for d in DISTRICTS for y in years]
            self.rng.shuffle(combos)
            pools.append((template, combos))
        packages: list[Package] = []
        while len(packages) < count:
            for template, combos in pools:
                if combos and len(packages) < count:
                    district, year = combos.pop()
                    packages.append(
                        self.package(dept, template, district, year, len(packages) + 1, org, groups)
                    )
        return packages

    def republish(
        self,
        original: Package,
        org: dict[str, Any] | None,
        groups: dict[str, dict[str, Any]],
        source_title: str,
    ) -> Package:
        """A copy of another platform's open dataset, as the city portal harvests it."""
        rng = self.rng
        copy = dict(original)
        pkg_id = self.uuid()
        copy["id"] = pkg_id
        copy["creator_user_id"] = self.uuid()
        copy["organization"] = org
        copy["owner_org"] = org["id"] if org else None
        if rng.random() < 0.15:
            copy["title"] = original["title"].replace("（", "数据（", 1)
        if rng.random() < 0.4:  # stale: the portal has not re-harvested the latest edit
            modified = datetime.fromisoformat(original["metadata_modified"]).replace(tzinfo=UTC)
            created = datetime.fromisoformat(original["metadata_created"]).replace(tzinfo=UTC)
            older = modified - timedelta(days=rng.uniform(20, 400))
            copy["metadata_modified"] = _ts(max(older, created + timedelta(hours=1)))
        dept_name = original["organization"]["title"]
        copy["extras"] = [
            *original["extras"],
            {"key": "data_source", "value": f"{dept_name}（{source_title}）"},
        ]
        copy["groups"] = [groups[g["name"]] for g in original["groups"]]
        copy["tags"] = [{**t, "id": self.uuid()} for t in original["tags"]]
        resources = []
        for res in original["resources"]:
            rid = self.uuid()
            url = res["url"].replace(original["id"], pkg_id).replace(res["id"], rid)
            resources.append(
                {
                    **res,
                    "id": rid,
                    "package_id": pkg_id,
                    "url": url,
                    "metadata_modified": copy["metadata_modified"],
                }
            )
        copy["resources"] = resources
        return copy


def _is_bus(package: Package) -> bool:
    return "公交" in package["title"]


@functools.lru_cache(maxsize=8)
def build_city_catalogue(seed: int = 2026) -> CityCatalogue:
    """Generate the Hexi city catalogue; the same seed always gives the same records."""
    gen = _Generator(seed)
    depts = {d.id: d for d in DEPARTMENTS}
    platforms: dict[str, PlatformCatalogue] = {}
    for platform_id, title, title_en, counts in PLATFORMS:
        orgs = [gen.org_dict(depts[dept_id]) for dept_id in counts]
        group_list = gen.group_dicts()
        groups = {g["name"]: g for g in group_list}
        packages: list[Package] = []
        for org, (dept_id, count) in zip(orgs, counts.items(), strict=True):
            packages += gen.department_packages(depts[dept_id], count, org, groups)
        platforms[platform_id] = PlatformCatalogue(
            id=platform_id,
            title=title,
            title_en=title_en,
            packages=packages,
            organizations=orgs,
            groups=group_list,
        )

    portal = platforms[CITY_PORTAL]
    candidates = [
        (p, pkg)
        for p in platforms.values()
        if p.id != CITY_PORTAL
        for pkg in p.packages
        if ("open_type", "无条件开放") in ((e["key"], e["value"]) for e in pkg["extras"])
    ]
    bus = [c for c in candidates if _is_bus(c[1])]
    chosen = gen.rng.sample(bus, min(30, len(bus)))
    rest = [c for c in candidates if not _is_bus(c[1])]
    chosen += gen.rng.sample(rest, COPIES_ON_CITY_PORTAL - len(chosen))
    portal_groups = {g["name"]: g for g in portal.groups}
    portal_orgs: dict[str, dict[str, Any]] = {o["name"]: o for o in portal.organizations}
    for source, original in chosen:
        dept_id = original["organization"]["name"]
        if dept_id not in portal_orgs:
            portal_orgs[dept_id] = gen.org_dict(depts[dept_id])
            portal.organizations.append(portal_orgs[dept_id])
        # A few harvested records lose their publisher on the portal.
        publisher = None if gen.rng.random() < 0.03 else portal_orgs[dept_id]
        portal.packages.append(gen.republish(original, publisher, portal_groups, source.title))
    return CityCatalogue(seed=seed, departments=list(DEPARTMENTS), platforms=platforms)
