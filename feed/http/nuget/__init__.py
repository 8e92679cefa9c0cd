"""feed/http/nuget"""
