"""feed/core"""
