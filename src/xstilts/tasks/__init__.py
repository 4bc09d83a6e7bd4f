"""Task declarations, readers and the task registry."""
