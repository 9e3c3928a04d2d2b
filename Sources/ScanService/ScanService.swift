// ScanService: filled in by its issue.
