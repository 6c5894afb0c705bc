"""Dataset templates of the water and agriculture departments (see ``_city_templates``).

Pure data in the same shape as ``_city_templates.TEMPLATES``. These departments publish on
their own platforms, generated from their own random streams, so editing an entry here
changes only those platforms.
"""

from __future__ import annotations

from simulators._city_templates import Template

# Open-data propensity: weights for (无条件开放, 有条件开放, 不予开放).
OPEN_WEIGHTS = {
    "water": (50, 25, 25),
    "agriculture": (55, 25, 20),
}

TEMPLATES: dict[str, list[Template]] = {
    "water": [
        (
            "drinking-water-quality",
            "饮用水水质",
            "Drinking water quality",
            "饮用水,水质,供水,water quality",
            "environment health",
            "每月",
            "CSV XLSX PDF",
            "plant_name:string:水厂名称;sample_date:date:采样日期;"
            "turbidity:number:浑浊度（NTU）;residual_chlorine:number:余氯（mg/L）;"
            "compliant:boolean:是否达标",
        ),
        (
            "rainfall-realtime",
            "雨量站实时雨量",
            "Real-time rainfall at rain gauges",
            "雨量,实时,防汛,rainfall",
            "environment public-safety",
            "实时",
            "API JSON",
            "station_id:string:测站编号;station_name:string:测站名称;"
            "rainfall_mm:number:时段雨量（毫米）;reported_at:datetime:上报时间",
        ),
        (
            "river-levels",
            "河道水位",
            "River water levels",
            "水位,河道,防汛,water level",
            "environment public-safety",
            "每日",
            "CSV API",
            "station_id:string:测站编号;stat_date:date:观测日期;"
            "water_level:number:水位（米）;warning_level:number:警戒水位（米）",
        ),
        (
            "reservoir-storage",
            "重点水库蓄水",
            "Storage of major reservoirs",
            "水库,蓄水,reservoir",
            "environment",
            "每周",
            "CSV JSON XLSX",
            "reservoir_name:string:水库名称;stat_date:date:统计日期;"
            "water_level:number:库水位（米）;storage:number:蓄水量（万立方米）",
        ),
        (
            "water-consumption",
            "用水量统计",
            "Water consumption statistics",
            "用水量,节水,water use",
            "environment economy",
            "每月",
            "CSV XLSX",
            "stat_month:string:统计月份;user_type:string:用户类别;volume:number:用水量（万立方米）",
        ),
        (
            "waterworks",
            "供水厂",
            "Water supply plants",
            "供水,水厂,waterworks",
            "environment urban-planning",
            "每年",
            "CSV GeoJSON SHP",
            "plant_id:string:水厂编号;plant_name:string:水厂名称;"
            "capacity:number:设计规模（万吨/日）;longitude:number:经度;latitude:number:纬度",
        ),
        (
            "sewage-treatment",
            "污水处理厂运行",
            "Sewage treatment plant operations",
            "污水处理,排水,sewage",
            "environment",
            "每月",
            "CSV XLSX",
            "plant_name:string:污水处理厂名称;stat_month:string:统计月份;"
            "treated:number:处理量（万吨）;cod_out:number:出水化学需氧量（mg/L）",
        ),
        (
            "waterlogging-points",
            "城市易涝点",
            "Waterlogging-prone points",
            "易涝点,内涝,防汛,flooding",
            "environment public-safety",
            "每半年",
            "CSV GeoJSON SHP",
            "point_id:string:点位编号;location:string:位置描述;"
            "risk_level:string:风险等级;longitude:number:经度;latitude:number:纬度",
        ),
        (
            "river-chiefs",
            "河长制河湖名录",
            "Rivers and lakes under the river chief system",
            "河长制,河湖,river chief",
            "environment",
            "不定期",
            "CSV XLSX PDF",
            "river_name:string:河湖名称;length_km:number:长度（公里）;"
            "river_chief:string:河长;chief_level:string:河长级别",
        ),
        (
            "water-abstraction-permits",
            "取水许可",
            "Water abstraction permits",
            "取水许可,水资源,permit",
            "environment economy",
            "每季度",
            "CSV XLSX",
            "permit_no:string:许可证编号;holder:string:取水权人;"
            "water_source:string:水源类型;annual_volume:number:年取水量（万立方米）",
        ),
        (
            "bus-depot-water",
            "公交场站用水量",
            "Water consumption of bus depots",
            "公交,用水量,节水,bus",
            "environment transport",
            "每月",
            "CSV XLSX",
            "depot_name:string:场站名称;stat_month:string:统计月份;"
            "volume:number:用水量（立方米）;reclaimed:number:中水回用量（立方米）",
        ),
    ],
    "agriculture": [
        (
            "crop-production",
            "主要农作物播种面积和产量",
            "Sown area and output of major crops",
            "农作物,粮食,产量,crops",
            "economy",
            "每年",
            "XLSX CSV PDF",
            "crop:string:作物名称;sown_area:number:播种面积（亩）;output:number:产量（吨）",
        ),
        (
            "wholesale-prices",
            "农产品批发价格",
            "Wholesale prices of farm produce",
            "农产品,价格,菜篮子,prices",
            "economy",
            "每日",
            "CSV JSON API",
            "product:string:品名;market:string:批发市场;"
            "price:number:价格（元/公斤）;price_date:date:价格日期",
        ),
        (
            "cooperatives",
            "农民专业合作社名录",
            "Farmers' cooperatives",
            "合作社,新型经营主体,cooperative",
            "economy",
            "每季度",
            "CSV XLSX",
            "coop_name:string:合作社名称;credit_code:string:统一社会信用代码;"
            "members:integer:成员数;main_business:string:主营业务",
        ),
        (
            "family-farms",
            "家庭农场名录",
            "Family farms",
            "家庭农场,新型经营主体,farm",
            "economy",
            "每半年",
            "CSV XLSX",
            "farm_name:string:农场名称;operator:string:经营者;"
            "area:number:经营面积（亩）;farm_type:string:农场类型",
        ),
        (
            "high-standard-farmland",
            "高标准农田建设项目",
            "High-standard farmland projects",
            "高标准农田,农田建设,farmland",
            "economy environment",
            "每年",
            "CSV SHP GeoJSON PDF",
            "project_name:string:项目名称;area:number:建设面积（亩）;"
            "investment:number:总投资（万元）;completion_date:date:竣工日期",
        ),
        (
            "livestock",
            "畜禽存栏出栏",
            "Livestock inventory and slaughter",
            "畜牧,生猪,livestock",
            "economy",
            "每季度",
            "XLSX CSV",
            "species:string:畜禽种类;stock:integer:存栏量（头/只）;"
            "slaughtered:integer:出栏量（头/只）",
        ),
        (
            "pesticide-licences",
            "农药经营许可",
            "Pesticide retail licences",
            "农药,经营许可,农资",
            "economy public-safety",
            "每月",
            "CSV XLSX",
            "shop_name:string:经营单位;license_no:string:许可证编号;"
            "address:string:经营地址;valid_until:date:有效期至",
        ),
        (
            "soil-quality",
            "耕地质量监测",
            "Farmland soil quality monitoring",
            "耕地质量,土壤,soil",
            "environment",
            "每年",
            "CSV PDF SHP",
            "point_id:string:监测点编号;organic_matter:number:有机质（g/kg）;"
            "ph:number:pH值;quality_grade:string:耕地质量等级",
        ),
        (
            "agro-weather-realtime",
            "农业气象实时监测",
            "Real-time agro-meteorological monitoring",
            "农业气象,墒情,实时",
            "environment",
            "实时",
            "API",
            "station_id:string:监测站编号;temperature:number:气温（℃）;"
            "humidity:number:相对湿度（%）;soil_moisture:number:土壤含水量（%）;"
            "reported_at:datetime:上报时间",
        ),
        (
            "animal-disease-weekly",
            "动物疫病防控周报",
            "Weekly animal disease prevention report",
            "动物防疫,疫病,animal health",
            "economy health",
            "每周",
            "PDF XLSX",
            "stat_week:string:统计周次;vaccinated:integer:免疫数量（头/只）;"
            "reported_cases:integer:报告病例数",
        ),
        (
            "village-bus-service",
            "行政村通公交情况",
            "Bus service coverage of administrative villages",
            "公交,乡村振兴,镇村公交,rural bus",
            "economy transport",
            "每年",
            "CSV XLSX",
            "village:string:行政村;town:string:所属乡镇;"
            "bus_lines:integer:通达公交线路数;daily_trips:integer:日均班次",
        ),
    ],
}
