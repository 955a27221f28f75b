ALTER DATABASE {database} SET {setting} = {value}
