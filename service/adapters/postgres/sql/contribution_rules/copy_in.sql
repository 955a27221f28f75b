COPY contribution_rules ({columns}) FROM STDIN
