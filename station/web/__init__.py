"""The ranger's page: a small password-protected web server beside the daemon (walk test, aim, status,
deployment record, last detections) in English, Russian and Chinese.

Standard library server only (``http.server`` behind ``limits.BoundedHTTPServer``), no external assets,
off unless asked: see ``station.web.server.WebServer``.
"""
