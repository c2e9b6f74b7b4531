"""Every string of the ranger's page, one table per language (English, Russian, Chinese).

Species names are not here: they come from the species catalogue (``en``/``ru``/``zh``). A test checks that
the three tables have the same keys and the same ``{placeholders}``.
"""

from __future__ import annotations

from collections.abc import Callable

from station.vision.species import catalogue

LANGUAGES = {"en": "EN", "ru": "RU", "zh": "中文"}
DEFAULT_LANGUAGE = "en"

EN = {
    "title": "Ranger's page",
    "password": "Password", "log_in": "Log in", "log_out": "Log out",
    "wrong_password": "Wrong password.", "locked": "Too many wrong passwords: wait {s} s and try again.",
    "login_cert_hint": "Before you type the password: the address starts with https:// and the browser trusts "
                       "the station's certificate, or its SHA-256 fingerprint matches the station's card.",
    "tab_status": "Status", "tab_walk": "Walk test", "tab_aim": "Aim", "tab_deployment": "Deployment",
    "tab_detections": "Detections",
    "page_off_in": "This page switches off in {min} min.",
    "none": "none", "no_reading": "no reading", "yes": "yes", "no": "no",
    # status
    "power": "Power", "battery": "Battery", "solar": "Solar", "storage": "Storage",
    "free": "Free", "total": "Total", "temperature": "Temperature", "enclosure": "Enclosure",
    "cpu_temperature": "Processor",
    "link": "Link", "mqtt": "MQTT", "lora": "LoRa", "connected": "connected", "not_connected": "NOT connected",
    "off": "off", "lora_standby": "standby (MQTT is up)", "lora_active": "sending ({region})",
    "airtime_left": "airtime left {pct}%", "queues": "Queues", "queue_triggers": "triggers waiting",
    "queue_frames": "frames to classify", "queue_store": "writes pending", "outbox_pending": "messages to send",
    "model": "Model", "clock": "Clock", "station_time": "Station time", "phone_diff": "Phone differs by {s} s",
    "clock_ok": "Phone and station agree", "uptime": "Running for", "activity": "Activity",
    "triggers_total": "PIR triggers", "sequences_total": "Sequences", "last_sequence": "Last sequence",
    "current_deployment": "Deployment", "station": "Station", "low": "LOW", "attention": "CHECK",
    # walk test
    "walk_intro": "Walk in front of the camera. Every PIR trigger, and the frame it took, shows here.",
    "walk_triggers": "PIR triggers since this page opened", "walk_motion": "MOTION",
    "walk_waiting": "Waiting for the PIR…", "walk_warmup": "The PIR is still warming up ({s} s left).",
    "burst": "burst {burst}, frame {frame}",
    # aim
    "aim_intro": "Live low-resolution view. It pauses while the camera takes a burst.",
    "aim_busy": "Camera busy with a burst: the view resumes in a moment.",
    "aim_unavailable": "This station cannot show a preview.",
    # deployment
    "deployment_none": "No deployment is open. Fill in the form and start one.",
    "deployment_open": "Open deployment {id}, started {start}.",
    "location_name": "Place name", "latitude": "Latitude", "longitude": "Longitude",
    "accuracy": "GPS accuracy (m)", "use_gps": "Use phone GPS", "gps_wait": "Getting position…",
    "gps_ok": "Position taken (±{m} m).", "gps_failed": "No GPS position ({error}): type the coordinates.",
    "gps_insecure": "The phone gives GPS only to secure pages: open this page with https:// (the address on "
                    "the station's QR card), or type or paste the coordinates (e.g. 43.1234, 131.5678).",
    "camera_height": "Camera height (m)", "heading": "Heading (degrees from north)",
    "tilt": "Tilt (degrees, down is negative)", "habitat": "Habitat", "feature_type": "Feature",
    "feature_none": "(none)", "notes": "Notes", "setup_by": "Set up by",
    "start_deployment": "Start deployment", "save_changes": "Save changes", "end_deployment": "End deployment",
    "end_confirm": "End this deployment now?", "started_msg": "Deployment {id} started.",
    "saved_msg": "Saved.", "ended_msg": "Deployment {id} ended.", "past_deployments": "Earlier deployments",
    "err_required": "{field}: required.", "err_number": "{field}: not a number.",
    "err_range": "{field}: must be between {lo} and {hi}.", "err_too_long": "{field}: at most {n} characters.",
    "err_no_open": "No open deployment to change.",
    # detections
    "last_sequences": "Last sequences", "no_sequences": "No sequences yet.", "confidence": "{pct}%",
    "frames": "{n} frames", "in_progress": "in progress", "mark_wrong": "Mark as wrong",
    "marked_wrong": "Marked wrong", "undo": "Undo",
    # Camtrap DP featureType values
    "ft_roadPaved": "Paved road", "ft_roadDirt": "Dirt road", "ft_trailHiking": "Hiking trail",
    "ft_trailGame": "Game trail", "ft_roadUnderpass": "Road underpass", "ft_roadOverpass": "Road overpass",
    "ft_roadBridge": "Road bridge", "ft_culvert": "Culvert", "ft_burrow": "Burrow", "ft_nestSite": "Nest site",
    "ft_carcass": "Carcass", "ft_waterSource": "Water source", "ft_fruitingTree": "Fruiting tree",
}

RU = {
    "title": "Страница егеря",
    "password": "Пароль", "log_in": "Войти", "log_out": "Выйти",
    "wrong_password": "Неверный пароль.", "locked": "Слишком много неверных паролей: подождите {s} с и повторите.",
    "login_cert_hint": "Прежде чем вводить пароль: адрес начинается с https:// и браузер доверяет сертификату "
                       "станции, или его отпечаток SHA-256 совпадает с карточкой станции.",
    "tab_status": "Состояние", "tab_walk": "Проверка", "tab_aim": "Наводка", "tab_deployment": "Установка",
    "tab_detections": "Обнаружения",
    "page_off_in": "Страница отключится через {min} мин.",
    "none": "нет", "no_reading": "нет данных", "yes": "да", "no": "нет",
    "power": "Питание", "battery": "Батарея", "solar": "Солнечная панель", "storage": "Память",
    "free": "Свободно", "total": "Всего", "temperature": "Температура", "enclosure": "Корпус",
    "cpu_temperature": "Процессор",
    "link": "Связь", "mqtt": "MQTT", "lora": "LoRa", "connected": "подключено", "not_connected": "НЕТ связи",
    "off": "выключено", "lora_standby": "ожидание (MQTT работает)", "lora_active": "передача ({region})",
    "airtime_left": "осталось эфира {pct}%", "queues": "Очереди", "queue_triggers": "срабатывания в очереди",
    "queue_frames": "кадры на распознавание", "queue_store": "записи в очереди",
    "outbox_pending": "сообщения к отправке",
    "model": "Модель", "clock": "Часы", "station_time": "Время станции",
    "phone_diff": "Телефон расходится на {s} с", "clock_ok": "Время телефона и станции совпадает",
    "uptime": "Работает", "activity": "Активность",
    "triggers_total": "Срабатывания датчика", "sequences_total": "Серии", "last_sequence": "Последняя серия",
    "current_deployment": "Установка", "station": "Станция", "low": "НИЗКИЙ", "attention": "ПРОВЕРЬТЕ",
    "walk_intro": "Пройдите перед камерой. Каждое срабатывание датчика и снятый кадр появятся здесь.",
    "walk_triggers": "Срабатывания датчика с открытия страницы", "walk_motion": "ДВИЖЕНИЕ",
    "walk_waiting": "Ждём срабатывания датчика…", "walk_warmup": "Датчик ещё прогревается (осталось {s} с).",
    "burst": "серия {burst}, кадр {frame}",
    "aim_intro": "Живое изображение низкого разрешения. Оно замирает, пока камера снимает серию.",
    "aim_busy": "Камера снимает серию: изображение скоро вернётся.",
    "aim_unavailable": "Эта станция не может показать изображение.",
    "deployment_none": "Открытой установки нет. Заполните форму и начните.",
    "deployment_open": "Открыта установка {id}, начата {start}.",
    "location_name": "Название места", "latitude": "Широта", "longitude": "Долгота",
    "accuracy": "Точность GPS (м)", "use_gps": "Взять GPS телефона", "gps_wait": "Определяем положение…",
    "gps_ok": "Положение получено (±{m} м).", "gps_failed": "Нет GPS ({error}): введите координаты.",
    "gps_insecure": "Телефон даёт GPS только защищённым страницам: откройте страницу через https:// (адрес "
                    "на карточке станции с QR-кодом) или введите или вставьте координаты (например, 43.1234, "
                    "131.5678).",
    "camera_height": "Высота камеры (м)", "heading": "Направление (градусы от севера)",
    "tilt": "Наклон (градусы, вниз — минус)", "habitat": "Местообитание", "feature_type": "Объект",
    "feature_none": "(нет)", "notes": "Заметки", "setup_by": "Установил(а)",
    "start_deployment": "Начать установку", "save_changes": "Сохранить", "end_deployment": "Завершить установку",
    "end_confirm": "Завершить эту установку сейчас?", "started_msg": "Установка {id} начата.",
    "saved_msg": "Сохранено.", "ended_msg": "Установка {id} завершена.", "past_deployments": "Прежние установки",
    "err_required": "{field}: обязательно.", "err_number": "{field}: это не число.",
    "err_range": "{field}: от {lo} до {hi}.", "err_too_long": "{field}: не более {n} знаков.",
    "err_no_open": "Нет открытой установки.",
    "last_sequences": "Последние серии", "no_sequences": "Серий пока нет.", "confidence": "{pct}%",
    "frames": "кадров: {n}", "in_progress": "идёт съёмка", "mark_wrong": "Отметить как ошибку",
    "marked_wrong": "Отмечено как ошибка", "undo": "Отменить",
    "ft_roadPaved": "Асфальтовая дорога", "ft_roadDirt": "Грунтовая дорога", "ft_trailHiking": "Пешая тропа",
    "ft_trailGame": "Звериная тропа", "ft_roadUnderpass": "Проход под дорогой",
    "ft_roadOverpass": "Переход над дорогой", "ft_roadBridge": "Мост", "ft_culvert": "Водопропускная труба",
    "ft_burrow": "Нора", "ft_nestSite": "Гнездо", "ft_carcass": "Туша", "ft_waterSource": "Водопой",
    "ft_fruitingTree": "Плодоносящее дерево",
}

ZH = {
    "title": "护林员页面",
    "password": "密码", "log_in": "登录", "log_out": "退出",
    "wrong_password": "密码错误。", "locked": "密码错误次数过多：请等待 {s} 秒后再试。",
    "login_cert_hint": "输入密码之前请确认：地址以 https:// 开头，"
                       "且浏览器信任本站证书，或其 SHA-256 指纹与站点卡片上的一致。",
    "tab_status": "状态", "tab_walk": "走动测试", "tab_aim": "对准", "tab_deployment": "布设",
    "tab_detections": "识别记录",
    "page_off_in": "本页面将在 {min} 分钟后关闭。",
    "none": "无", "no_reading": "无读数", "yes": "是", "no": "否",
    "power": "电源", "battery": "电池", "solar": "太阳能板", "storage": "存储",
    "free": "可用", "total": "总容量", "temperature": "温度", "enclosure": "机箱", "cpu_temperature": "处理器",
    "link": "通信", "mqtt": "MQTT", "lora": "LoRa", "connected": "已连接", "not_connected": "未连接",
    "off": "关闭", "lora_standby": "待机（MQTT 正常）", "lora_active": "发送中（{region}）",
    "airtime_left": "剩余占空 {pct}%", "queues": "队列", "queue_triggers": "待拍摄触发",
    "queue_frames": "待识别照片", "queue_store": "待写入", "outbox_pending": "待发送消息",
    "model": "模型", "clock": "时钟", "station_time": "设备时间", "phone_diff": "手机时间相差 {s} 秒",
    "clock_ok": "手机与设备时间一致", "uptime": "已运行", "activity": "活动",
    "triggers_total": "红外触发", "sequences_total": "拍摄序列", "last_sequence": "最近序列",
    "current_deployment": "布设", "station": "设备", "low": "低", "attention": "请检查",
    "walk_intro": "在相机前走过。每次红外触发及拍到的照片都会显示在这里。",
    "walk_triggers": "打开本页后的红外触发次数", "walk_motion": "检测到移动",
    "walk_waiting": "等待红外触发…", "walk_warmup": "红外传感器仍在预热（还剩 {s} 秒）。",
    "burst": "第 {burst} 组，第 {frame} 张",
    "aim_intro": "实时低分辨率画面。相机连拍时画面会暂停。",
    "aim_busy": "相机正在连拍，画面稍后恢复。",
    "aim_unavailable": "此设备无法显示预览。",
    "deployment_none": "当前没有进行中的布设。填写表格并开始。",
    "deployment_open": "进行中的布设 {id}，开始于 {start}。",
    "location_name": "地点名称", "latitude": "纬度", "longitude": "经度",
    "accuracy": "GPS 精度（米）", "use_gps": "使用手机 GPS", "gps_wait": "正在定位…",
    "gps_ok": "已获取位置（±{m} 米）。", "gps_failed": "无法定位（{error}）：请手动输入坐标。",
    "gps_insecure": "手机只向安全页面提供 GPS：请用 https:// 打开本页（地址见站点的二维码卡片），"
                    "或输入或粘贴坐标（例如 43.1234, 131.5678）。",
    "camera_height": "相机高度（米）", "heading": "朝向（以北为 0 度）",
    "tilt": "俯仰角（度，向下为负）", "habitat": "生境", "feature_type": "地物类型",
    "feature_none": "（无）", "notes": "备注", "setup_by": "布设人",
    "start_deployment": "开始布设", "save_changes": "保存修改", "end_deployment": "结束布设",
    "end_confirm": "现在结束此布设？", "started_msg": "布设 {id} 已开始。",
    "saved_msg": "已保存。", "ended_msg": "布设 {id} 已结束。", "past_deployments": "以往布设",
    "err_required": "{field}：必填。", "err_number": "{field}：不是数字。",
    "err_range": "{field}：必须在 {lo} 到 {hi} 之间。", "err_too_long": "{field}：最多 {n} 个字符。",
    "err_no_open": "没有进行中的布设。",
    "last_sequences": "最近的拍摄序列", "no_sequences": "尚无拍摄序列。", "confidence": "{pct}%",
    "frames": "{n} 张", "in_progress": "拍摄中", "mark_wrong": "标记为错误",
    "marked_wrong": "已标记为错误", "undo": "撤销",
    "ft_roadPaved": "铺装道路", "ft_roadDirt": "土路", "ft_trailHiking": "步道", "ft_trailGame": "兽径",
    "ft_roadUnderpass": "道路下穿通道", "ft_roadOverpass": "道路上跨通道", "ft_roadBridge": "桥梁",
    "ft_culvert": "涵洞", "ft_burrow": "洞穴", "ft_nestSite": "巢址", "ft_carcass": "动物尸体",
    "ft_waterSource": "水源", "ft_fruitingTree": "结果树",
}

TABLES: dict[str, dict[str, str]] = {"en": EN, "ru": RU, "zh": ZH}

Translate = Callable[..., str]


def translator(language: str) -> Translate:
    """``t("key", **values)`` in ``language``; a key missing there falls back to English."""
    table = TABLES.get(language, EN)

    def t(key: str, **values: object) -> str:
        text = table.get(key) or EN[key]
        return text.format(**values) if values else text

    return t


def species_name(key: str | None, language: str) -> str:
    """The catalogue's name of a species in ``language`` (the key itself if it is not in the catalogue)."""
    entry = catalogue().get(key or "")
    if entry is None:
        return key or "?"
    return getattr(entry, language, None) or entry.en


def pick_language(cookie: str | None, accept_language: str | None) -> str:
    """The language chosen on the page (cookie), else the browser's first supported one, else English."""
    if cookie in TABLES:
        return cookie
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in TABLES:
            return code
    return DEFAULT_LANGUAGE
