"""feed/http"""
