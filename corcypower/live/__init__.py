"""The live path, in RAM: the ring of recent batches, the HTTP state API, remote voltage.

Nothing here touches the database or imports pandas or bokeh: the daemon loads it.
"""
