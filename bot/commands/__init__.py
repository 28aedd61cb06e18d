"""`zhibu` subcommands, one module per family; each module has `register(subparsers)`."""
