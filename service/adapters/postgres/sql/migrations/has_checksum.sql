SELECT 1 FROM pg_attribute WHERE attrelid = 'schema_migrations'::regclass
    AND attname = 'checksum' AND NOT attisdropped
