// ScanOutput: filled in by its issue.
