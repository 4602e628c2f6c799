"""The HTTP service: a durable journal of engine commands, one writer, and the public, trader and
operator APIs (issue 5). The engine never imports this package."""
