"""The station's SQLite store: schema and migrations, the repository of sequences and detections, the outbox,
media files on disk, retention on a filling card, and recovery and salvage after a crash or corruption."""
