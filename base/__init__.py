"""The base layer: jobs, roles, live broadcasts, the access log, the account plumbing.

Every app imports it; it imports no app (see the README's architecture section).
"""
