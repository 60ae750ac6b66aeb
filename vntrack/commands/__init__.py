"""One module per ``vntrack`` command group; each command parses arguments and calls one library function."""
