"""feed/retention"""
