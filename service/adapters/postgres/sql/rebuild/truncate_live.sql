TRUNCATE {tables}
