"""Where bytes live: disk or S3 behind one small interface."""
