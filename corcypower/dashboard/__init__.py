"""The Bokeh dashboard: a directory app (`bokeh serve corcypower/dashboard`), also served by
`corcypower dashboard` and `bokeh serve bokeh_dashboard.py`.

data.py gets the data (no Bokeh), figures.py and cards.py draw, page.py is one tab,
app.py the state shared by every tab of a server, poller.py follows the daemon.
"""
