"""feed/http/admin"""
