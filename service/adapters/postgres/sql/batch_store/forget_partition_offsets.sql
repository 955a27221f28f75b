DELETE FROM consumer_offsets WHERE consumer_group = %s AND topic = %s AND partition = %s
