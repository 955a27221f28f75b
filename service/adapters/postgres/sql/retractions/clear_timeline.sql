DELETE FROM timeline
