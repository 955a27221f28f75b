SET LOCAL statement_timeout = {timeout_ms};
SELECT 1;
