// EngineNode: filled in by its issue.
