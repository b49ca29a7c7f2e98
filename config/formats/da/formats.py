# An instant with its zone, ISO-like as in the custom admin pages and the exports (config/formats).
DATETIME_FORMAT = "Y-m-d H:i T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
