"""The Bokeh dashboard: a directory app (`bokeh serve corcypower/dashboard`), also served by
`corcypower dashboard` and `bokeh serve bokeh_dashboard.py`.

data.py and summary.py get the data and the text (no Bokeh); figures.py, cards.py and
touch.py draw; the page (page.py) is a list of sections (section.py, sections/); template.py
dresses the HTML page; app.py is the state shared by every tab of a server, poller.py follows
the daemon. The energy figures come from corcypower.energy, as the command line's do.
"""
