"""The words of the joint report page in English, Russian and Chinese (one table per language, same keys)."""

from __future__ import annotations

LANGUAGES = {"en": "English", "ru": "Русский", "zh": "中文"}

_STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Amur tigers and leopards on both sides of the border: joint camera-trap report",
        "period": "Period",
        "joint_table": "Identified individuals",
        "adults_cubs": "identified adults (cubs)",
        "china": "China", "russia": "Russia", "both": "observed in both countries", "total": "total",
        "amur_tiger": "tigers", "amur_leopard": "leopards", "species": "species",
        "country_CN": "China", "country_RU": "Russia",
        "rules": "Adults include subadults (independent animals); an animal seen in a country only as a juvenile "
                 "is a cub there. Animals known under a Russian and a Chinese code are counted once, after the "
                 "experts' merges; records still linked by a shared code are counted once until settled.",
        "findings": "Findings",
        "max_crossings": "most border crossings by one animal",
        "dispersal": "young animals dispersing (first seen young in one country, later in the other)",
        "distance": "distance from the border, km: median (range) of each animal's median",
        "map": "Stations and border crossings",
        "border": "state border",
        "legend": "Blue: LLNP stations (Russia); red: TLNP stations (China); dashed: the border; orange lines: "
                  "tiger crossings; purple lines: leopard crossings.",
        "open_questions": "For the experts",
        "conflicts": "The same code is claimed for more than one animal, or two catalogues claim one sighting:",
        "no_conflicts": "No open conflicts between the catalogues.",
        "crossers": "Animals that crossed the border", "animal": "animal", "codes": "catalogue codes",
        "crossings": "crossings", "path": "countries of its sightings, in order",
    },
    "ru": {
        "title": "Амурские тигры и дальневосточные леопарды по обе стороны границы: совместный отчёт "
                 "по фотоловушкам",
        "period": "Период",
        "joint_table": "Идентифицированные особи",
        "adults_cubs": "взрослые особи (детёныши)",
        "china": "Китай", "russia": "Россия", "both": "отмечены в обеих странах", "total": "всего",
        "amur_tiger": "тигры", "amur_leopard": "леопарды", "species": "вид",
        "country_CN": "Китай", "country_RU": "Россия",
        "rules": "К взрослым отнесены и полувзрослые (самостоятельные) особи; особь, отмеченная в стране только "
                 "детёнышем, считается там детёнышем. Особи с российским и китайским кодом считаются один раз "
                 "после объединения экспертами; записи, связанные общим кодом, считаются один раз до решения.",
        "findings": "Результаты",
        "max_crossings": "наибольшее число пересечений границы одной особью",
        "dispersal": "расселение молодых особей (впервые отмечены молодыми в одной стране, позже в другой)",
        "distance": "расстояние от границы, км: медиана (разброс) медиан особей",
        "map": "Станции и пересечения границы",
        "border": "государственная граница",
        "legend": "Синие: станции «Земли леопарда» (Россия); красные: станции национального парка Северо-"
                  "Восточного Китая (Китай); пунктир: граница; оранжевые линии: пересечения тигров; "
                  "фиолетовые: леопардов.",
        "open_questions": "Для экспертов",
        "conflicts": "Один код присвоен нескольким особям, или одна регистрация есть в двух каталогах:",
        "no_conflicts": "Открытых расхождений между каталогами нет.",
        "crossers": "Особи, пересекавшие границу", "animal": "особь", "codes": "коды в каталогах",
        "crossings": "пересечения", "path": "страны регистраций по порядку",
    },
    "zh": {
        "title": "边境两侧的东北虎和东北豹：红外相机联合监测报告",
        "period": "时间段",
        "joint_table": "已识别个体",
        "adults_cubs": "已识别成年个体（幼崽）",
        "china": "中国", "russia": "俄罗斯", "both": "两国均有记录", "total": "合计",
        "amur_tiger": "虎", "amur_leopard": "豹", "species": "物种",
        "country_CN": "中国", "country_RU": "俄罗斯",
        "rules": "成年个体包括亚成体（独立活动的个体）；在某国仅以幼体被记录的个体在该国计为幼崽。"
                 "同时拥有俄方和中方编号的个体在专家合并后只计一次；仍由同一编号关联的记录在裁定前只计一次。",
        "findings": "主要发现",
        "max_crossings": "单一个体跨越边境的最多次数",
        "dispersal": "幼年个体扩散（首次在一国以幼年被记录，之后出现在另一国）",
        "distance": "距边境距离（公里）：各个体中位数的中位数（范围）",
        "map": "监测站与跨境移动",
        "border": "国界",
        "legend": "蓝色：豹地国家公园站点（俄罗斯）；红色：东北虎豹国家公园站点（中国）；虚线：国界；"
                  "橙色线：虎的跨境；紫色线：豹的跨境。",
        "open_questions": "待专家处理",
        "conflicts": "同一编号被用于多个个体，或同一记录出现在两个名录中：",
        "no_conflicts": "名录之间没有未解决的冲突。",
        "crossers": "跨越边境的个体", "animal": "个体", "codes": "名录编号",
        "crossings": "跨境次数", "path": "按时间顺序的记录国家",
    },
}


def text(lang: str, key: str) -> str:
    return _STRINGS[lang][key]


def name_of(lang: str, key: str, prefix: str = "") -> str:
    """A species' or a country's word, or the key itself for one the page has no word for (a brown bear in a
    catalogue, a third country's park): the page still renders."""
    return _STRINGS[lang].get(prefix + key, key)


def missing_keys() -> dict[str, set[str]]:
    """Keys some language lacks (a test keeps this empty)."""
    every = set().union(*(table.keys() for table in _STRINGS.values()))
    return {lang: every - set(table) for lang, table in _STRINGS.items() if every - set(table)}
