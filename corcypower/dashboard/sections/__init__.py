"""The sections of the page, top to bottom as page.SECTIONS lists them."""
