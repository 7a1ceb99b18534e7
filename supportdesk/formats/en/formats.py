"""English dates and times: one format everywhere, day first, 24-hour clock
("7 Dec 2026, 14:05"), so a page never mixes "21:20" and "8:20 p.m."."""

DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j M"
