"""Built-in task declarations: one module per task or suite; each calls `register`."""
