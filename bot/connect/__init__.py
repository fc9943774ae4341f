"""MetaKraftwerk connections per customer: the connect page, its links, the stored accounts.

Block Kit has no password field and a password must not pass through Slack, so an admin
connects on a page the web process serves, reached from App Home by a signed single-use link.
"""
