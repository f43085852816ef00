"""Use cases. Services own their transactions and never touch request, session or flash."""
