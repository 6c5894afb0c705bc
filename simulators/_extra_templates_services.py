"""Dataset templates of the culture, finance and human-resources departments.

Pure data in the same shape as ``_city_templates.TEMPLATES``. These departments publish on
their own platforms, generated from their own random streams, so editing an entry here
changes only those platforms.
"""

from __future__ import annotations

from simulators._city_templates import Template

# Open-data propensity: weights for (无条件开放, 有条件开放, 不予开放).
OPEN_WEIGHTS = {
    "culture": (60, 25, 15),
    "finance": (45, 20, 35),
    "human-resources": (25, 30, 45),
}

TEMPLATES: dict[str, list[Template]] = {
    "culture": [
        (
            "scenic-spots",
            "A级旅游景区",
            "Rated tourist attractions",
            "景区,旅游,A级景区,tourism",
            "economy society",
            "每季度",
            "CSV JSON GeoJSON",
            "spot_id:string:景区编号;spot_name:string:景区名称;grade:string:景区等级;"
            "address:string:地址;longitude:number:经度;latitude:number:纬度",
        ),
        (
            "scenic-visitors",
            "景区游客接待量",
            "Visitor numbers at tourist attractions",
            "景区,游客,客流,tourism",
            "economy",
            "每日",
            "CSV XLSX API",
            "spot_id:string:景区编号;stat_date:date:统计日期;"
            "visitors:integer:接待游客（人次）;ticket_revenue:number:门票收入（万元）",
        ),
        (
            "scenic-flow-realtime",
            "景区实时在园人数",
            "Real-time visitors inside attractions",
            "景区,实时,客流,限流",
            "economy public-safety",
            "实时",
            "API JSON",
            "spot_id:string:景区编号;current_visitors:integer:在园人数;"
            "max_capacity:integer:最大承载量;reported_at:datetime:上报时间",
        ),
        (
            "star-hotels",
            "星级饭店",
            "Star-rated hotels",
            "饭店,住宿,hotel",
            "economy",
            "每半年",
            "CSV XLSX",
            "hotel_name:string:饭店名称;star_rating:integer:星级;"
            "rooms:integer:客房数;address:string:地址",
        ),
        (
            "travel-agencies",
            "旅行社名录",
            "Licensed travel agencies",
            "旅行社,经营许可,travel agency",
            "economy",
            "每月",
            "CSV XLSX JSON",
            "agency_name:string:旅行社名称;license_no:string:经营许可证号;"
            "legal_rep:string:法定代表人;address:string:经营场所",
        ),
        (
            "public-libraries",
            "公共图书馆",
            "Public libraries",
            "图书馆,公共文化,library",
            "society education",
            "每年",
            "CSV GeoJSON",
            "library_name:string:图书馆名称;address:string:地址;"
            "collection:integer:馆藏量（册）;opening_hours:string:开放时间",
        ),
        (
            "cultural-events",
            "公共文化活动",
            "Public cultural events",
            "文化活动,演出,展览,events",
            "society",
            "每周",
            "CSV JSON",
            "event_name:string:活动名称;venue:string:举办场馆;"
            "start_date:date:开始日期;organizer:string:主办单位",
        ),
        (
            "heritage-sites",
            "文物保护单位",
            "Protected heritage sites",
            "文物保护,文化遗产,heritage",
            "society urban-planning",
            "不定期",
            "CSV SHP PDF",
            "site_name:string:文物名称;protection_level:string:保护级别;"
            "era:string:年代;address:string:地址",
        ),
        (
            "tourist-bus-lines",
            "文旅公交专线",
            "Tourist bus lines",
            "公交,旅游专线,bus,tourism",
            "transport economy",
            "每月",
            "CSV JSON GeoJSON",
            "line_name:string:专线名称;via_spots:string:途经景区;"
            "first_bus:string:首班时间;last_bus:string:末班时间;fare:number:票价（元）",
        ),
        (
            "holiday-tourism",
            "节假日旅游接待统计",
            "Holiday tourism statistics",
            "节假日,旅游收入,游客",
            "economy",
            "不定期",
            "XLSX PDF",
            "holiday:string:节假日;visitors:integer:接待游客（万人次）;"
            "revenue:number:旅游收入（亿元）",
        ),
        (
            "entertainment-venues",
            "娱乐场所许可",
            "Licensed entertainment venues",
            "文化市场,娱乐场所,经营许可",
            "society public-safety",
            "每季度",
            "CSV XLSX",
            "venue_name:string:场所名称;license_no:string:许可证编号;"
            "venue_type:string:场所类型;address:string:地址",
        ),
    ],
    "finance": [
        (
            "general-budget",
            "一般公共预算收支执行",
            "General public budget revenue and expenditure",
            "预算,财政收支,budget",
            "economy",
            "每月",
            "XLSX PDF CSV",
            "item:string:预算科目;budget:number:预算数（万元）;"
            "actual:number:执行数（万元）;completion:number:完成预算（%）",
        ),
        (
            "department-budgets",
            "部门预算公开",
            "Departmental budgets",
            "部门预算,预算公开,budget",
            "economy",
            "每年",
            "PDF XLSX",
            "department:string:部门名称;revenue:number:收入预算（万元）;"
            "expenditure:number:支出预算（万元）",
        ),
        (
            "final-accounts",
            "部门决算公开",
            "Departmental final accounts",
            "部门决算,决算公开,final accounts",
            "economy",
            "每年",
            "PDF XLSX",
            "department:string:部门名称;revenue:number:收入决算（万元）;"
            "expenditure:number:支出决算（万元）",
        ),
        (
            "three-public-expenses",
            "“三公”经费",
            "Spending on official travel abroad, vehicles and receptions",
            "三公经费,预算公开",
            "economy",
            "每年",
            "XLSX PDF",
            "department:string:部门名称;travel_abroad:number:因公出国（境）费（万元）;"
            "vehicles:number:公务用车购置及运行费（万元）;reception:number:公务接待费（万元）",
        ),
        (
            "government-debt",
            "政府债务限额和余额",
            "Government debt ceilings and balances",
            "政府债务,专项债,debt",
            "economy",
            "每半年",
            "XLSX PDF",
            "debt_type:string:债务类型;debt_limit:number:债务限额（亿元）;"
            "balance:number:债务余额（亿元）",
        ),
        (
            "procurement-contracts",
            "政府采购合同",
            "Government procurement contracts",
            "政府采购,采购合同,procurement",
            "economy",
            "每周",
            "CSV JSON",
            "contract_no:string:合同编号;purchaser:string:采购人;"
            "supplier:string:供应商;amount:number:合同金额（万元）;sign_date:date:签订日期",
        ),
        (
            "benefit-subsidies",
            "惠民惠农补贴发放",
            "Benefit and farm subsidy payments",
            "惠民惠农,补贴,一卡通",
            "economy society",
            "每月",
            "CSV XLSX",
            "subsidy_type:string:补贴项目;recipients:integer:发放人数;"
            "amount:number:发放金额（万元）",
        ),
        (
            "treasury-payments",
            "国库集中支付明细",
            "Treasury centralised payments",
            "国库支付,财政支出",
            "economy",
            "每日",
            "API CSV",
            "payment_date:date:支付日期;budget_unit:string:预算单位;"
            "payee:string:收款人;amount:number:支付金额（元）",
        ),
        (
            "non-tax-revenue-items",
            "非税收入项目目录",
            "Non-tax revenue items",
            "非税收入,收费目录,fees",
            "economy",
            "不定期",
            "CSV XLSX PDF",
            "item_code:string:项目编码;item_name:string:项目名称;"
            "fee_standard:string:收费标准;legal_basis:string:政策依据",
        ),
        (
            "bus-operation-subsidies",
            "公交运营财政补贴",
            "Fiscal subsidies for public bus operations",
            "公交,财政补贴,bus",
            "economy transport",
            "每年",
            "XLSX PDF CSV",
            "operator:string:公交企业;routes:integer:运营线路数;"
            "subsidy:number:补贴金额（万元）;subsidy_basis:string:补贴依据",
        ),
    ],
    "human-resources": [
        (
            "job-vacancies",
            "招聘岗位信息",
            "Job vacancies",
            "招聘,就业,岗位,jobs",
            "economy society",
            "每日",
            "CSV JSON API",
            "job_title:string:岗位名称;employer:string:招聘单位;"
            "openings:integer:招聘人数;salary_range:string:薪资范围;posted_date:date:发布日期",
        ),
        (
            "social-insurance-enrolment",
            "社会保险参保人数",
            "Social insurance enrolment",
            "社会保险,参保,social insurance",
            "society",
            "每月",
            "XLSX CSV",
            "stat_month:string:统计月份;insurance_type:string:险种;insured:integer:参保人数",
        ),
        (
            "pension-payments",
            "基本养老金发放",
            "Basic pension payments",
            "养老金,养老保险,pension",
            "society",
            "每月",
            "XLSX CSV",
            "stat_month:string:统计月份;retirees:integer:领取人数;"
            "amount:number:发放总额（万元）;average:number:人均月养老金（元）",
        ),
        (
            "minimum-wage",
            "最低工资标准",
            "Minimum wage standards",
            "最低工资,工资标准,minimum wage",
            "society economy",
            "不定期",
            "PDF CSV",
            "region:string:适用区域;monthly:number:月最低工资（元）;"
            "hourly:number:小时最低工资（元）;effective_date:date:执行日期",
        ),
        (
            "training-institutions",
            "职业技能培训机构",
            "Vocational training institutions",
            "职业培训,技能培训,training",
            "education society",
            "每季度",
            "CSV XLSX GeoJSON",
            "institution_name:string:机构名称;address:string:地址;"
            "programs:string:培训项目;longitude:number:经度;latitude:number:纬度",
        ),
        (
            "labour-disputes",
            "劳动人事争议仲裁案件",
            "Labour dispute arbitration cases",
            "劳动仲裁,劳动争议",
            "society public-safety",
            "每季度",
            "XLSX PDF",
            "stat_quarter:string:统计季度;cases_received:integer:受理案件数;"
            "cases_closed:integer:结案数;amount:number:涉案金额（万元）",
        ),
        (
            "talent-attraction",
            "人才引进",
            "Talent attraction programme",
            "人才引进,人才,talent",
            "economy education",
            "每半年",
            "XLSX PDF",
            "program:string:引才计划;talents:integer:引进人数;"
            "degree:string:学历层次;subsidy:number:安家补贴（万元）",
        ),
        (
            "urban-employment",
            "城镇新增就业和登记失业率",
            "New urban jobs and registered unemployment",
            "就业,失业率,employment",
            "economy society",
            "每月",
            "XLSX CSV",
            "stat_month:string:统计月份;new_jobs:integer:城镇新增就业人数;"
            "unemployment_rate:number:城镇登记失业率（%）",
        ),
        (
            "service-points",
            "社保经办服务网点",
            "Social security service points",
            "社保经办,服务网点,办事指南",
            "society",
            "每年",
            "CSV GeoJSON JSON",
            "point_name:string:网点名称;address:string:地址;"
            "opening_hours:string:办公时间;phone:string:咨询电话;"
            "longitude:number:经度;latitude:number:纬度",
        ),
        (
            "service-queue-realtime",
            "社保服务大厅实时排队",
            "Real-time queues at social security service halls",
            "社保经办,排队,实时",
            "society",
            "实时",
            "API",
            "hall_id:string:大厅编号;waiting:integer:等候人数;"
            "windows_open:integer:开放窗口数;reported_at:datetime:上报时间",
        ),
        (
            "bus-driver-vacancies",
            "公交驾驶员招聘",
            "Bus driver job vacancies",
            "公交,驾驶员,招聘,bus",
            "society transport",
            "每周",
            "CSV JSON",
            "employer:string:公交企业;openings:integer:招聘人数;"
            "licence_class:string:准驾车型;salary_range:string:薪资范围",
        ),
    ],
}
