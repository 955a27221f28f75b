DROP TABLE IF EXISTS loc_in, closure_new
