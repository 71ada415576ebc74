"""Energy as people ask about it: periods of local days, tariffs, and the account of a period
(grid, solar, circuits, cost), read from the minute rollups. The command line (`report`,
`export --energy`) and the dashboard use the same functions.
"""
