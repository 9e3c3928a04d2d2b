// ZeroMQ: filled in by its issue.
