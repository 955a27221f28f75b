INSERT INTO broker_resets (reason) VALUES (%s)
